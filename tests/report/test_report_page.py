"""The report: one self-contained, escaped HTML page, a markdown summary, and the command."""

from __future__ import annotations

import re
from dataclasses import replace
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_runs import POLICY, blocks, make_run

from netpol_conformance.cli import main
from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.report.html_report import render_html
from netpol_conformance.report.markdown import render_markdown
from netpol_conformance.report.marks import MARKS
from netpol_conformance.report.svg import EnforceBar, enforce_chart
from netpol_conformance.report.truth_tables import grids
from netpol_conformance.results.compare import compare
from netpol_conformance.results.records import RunRecord
from netpol_conformance.results.write import write_results

S2 = "2-allow-frontend-to-db"
MISSED = "frontend/web->backend/db:5432/TCP"
HOSTILE = '<script>alert("x")</script><img src=http://203.0.113.9/a.png>'


class Page(HTMLParser):
    """Every start tag with its attributes, and the text of the page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [
            a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]


def hostile_run() -> RunRecord:
    run = make_run(fault=blocks(S2, {MISSED}))
    step = run.steps[2]
    hostile_policy = {**POLICY, "metadata": {"name": HOSTILE, "namespace": "backend"}}
    probes = tuple(
        replace(p, observed=Observation(Outcome.TIMEOUT, HOSTILE), command=f"kubectl {HOSTILE}")
        if p.probe.label == MISSED
        else p
        for p in step.probes
    )
    step = replace(step, policies=(hostile_policy,), probes=probes)
    return replace(
        run,
        steps=(*run.steps[:2], step, *run.steps[3:]),
        setup_errors={"forgot-dns-egress": HOSTILE},
        error=HOSTILE,
    )


def test_every_step_has_its_expected_and_observed_tables() -> None:
    run = make_run()
    page = Page(render_html(run))
    for step in run.steps:
        step_id = f"{step.scenario}/{step.step}"
        for which in ("expected", "observed"):
            tables = page.find("table", **{"data-table": which, "data-step": step_id})
            assert [t["data-group"] for t in tables] == [g.title for g in grids(step)]
    assert [g.title for g in grids(run.steps[0])] == [
        "80/TCP",
        "5432/TCP",
        "dns: dig kubernetes.default.svc.cluster.local",
    ]


def test_a_mismatch_is_marked_with_a_symbol_and_a_class_not_colour_alone() -> None:
    page = Page(render_html(make_run(fault=blocks(S2, {MISSED}))))
    cells = page.find("td", **{"data-probe": MISSED, "data-state": "miss"})
    assert len(cells) == 1 and "miss" in cells[0]["class"].split()
    assert "expected connected, observed timeout" in cells[0]["title"]
    assert "kubectl exec -n frontend-x3k9q web -c probe -- curl" in cells[0]["title"]
    html = render_html(make_run(fault=blocks(S2, {MISSED})))
    cell = rf'data-probe="{re.escape(escape(MISSED))}" data-state="miss"[^>]*>X\*</td>'
    assert re.search(cell, html)
    assert len(page.find("td", **{"data-state": "miss"})) == 1


def test_untrusted_text_is_escaped_everywhere() -> None:
    html = render_html(hostile_run())
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert html.count("&lt;script&gt;") >= 4  # policy, detail, command, set-up error, run error
    markdown = render_markdown(hostile_run())
    outside_code = re.sub(r"`[^`]*`", "", markdown)  # a code span shows its text literally
    assert "<script" not in outside_code and "<img" not in outside_code
    assert "`kubectl <script>" in markdown


def test_the_page_loads_nothing_from_the_network() -> None:
    html = render_html(hostile_run(), make_run(), compare(make_run(), hostile_run()))
    page = Page(html)
    assert not [a for t, a in page.tags if t in ("script", "link", "img", "iframe", "object")]
    assert not [a for _, a in page.tags if a.get("src")]
    assert not [a["href"] for a in page.find("a") if not a.get("href", "").startswith("#")]
    assert "@import" not in html and "url(" not in html


def test_a_before_run_puts_the_comparison_on_the_page() -> None:
    before, after = make_run(), make_run(fault=blocks(S2, {MISSED}))
    page = Page(render_html(after, before, compare(before, after), ("old.json", "new.json")))
    assert page.find("section", id="compare")
    text = " ".join(page.text)
    assert "Compared with old.json" in text and "FAIL: 0 leaks, 1 regression" in text
    assert MISSED in text


def test_the_verdict_and_metadata_are_in_the_header() -> None:
    text = " ".join(Page(render_html(make_run(fault=blocks(S2, {MISSED})))).text)
    assert "✗ FAILED" in text and "524 of 525 probes as expected" in text
    assert "calico v3.29.3" in text and "Kubernetes v1.34.4" in text
    assert "node-b: backend/web, production/web, production/api" in text
    assert "✓ PASSED" in " ".join(Page(render_html(make_run())).text)


def test_the_chart_has_one_bar_per_converged_step() -> None:
    svg = enforce_chart([EnforceBar("a", 1.0), EnforceBar("b", None), EnforceBar("c", 7.5)])
    assert svg.count('class="after"') == 2 and "not converged" in svg
    assert 'width="360.0"' in enforce_chart([EnforceBar("only", 10.0)])  # the axis ends at 10 s


def test_marks_cover_every_outcome() -> None:
    assert set(MARKS) == set(Outcome)


def test_markdown_lists_what_was_not_as_expected() -> None:
    md = render_markdown(make_run(fault=blocks(S2, {MISSED})))
    assert md.startswith("# NetworkPolicy conformance: calico v3.29.3 on local")
    assert "**✗ FAILED**" in md
    assert f"| {S2} | `{MISSED}` | connected | timeout | `kubectl exec" in md


def test_report_command_writes_both_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_results(make_run(), tmp_path / "before.json")
    write_results(make_run(fault=blocks(S2, {MISSED})), tmp_path / "after.json")
    code = main(
        [
            "report",
            str(tmp_path / "after.json"),
            str(tmp_path / "before.json"),
            "--html",
            str(tmp_path / "out" / "report.html"),
            "--markdown",
            str(tmp_path / "out" / "report.md"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "failed, 524 of 525 probes as expected" in out
    assert 'id="compare"' in (tmp_path / "out" / "report.html").read_text()
    assert "## netpol-conformance compare" in (tmp_path / "out" / "report.md").read_text()


def test_report_command_needs_an_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_results(make_run(scenarios=("0-no-policies",)), tmp_path / "r.json")
    assert main(["report", str(tmp_path / "r.json")]) == 2
    assert "give --html OUT.html and/or --markdown OUT.md" in capsys.readouterr().err


def test_steps_are_shown_scenario_by_scenario_whatever_the_workers_order() -> None:
    """Under -n auto the results file holds each worker's steps in turn (1, 3, then 0, 2)."""
    run = make_run()
    by_name = {s.scenario: s for s in run.steps}
    worker_order = ("1-default-deny-ingress", "3-default-deny-egress", "0-no-policies", S2)
    shuffled = replace(run, steps=tuple(by_name[name] for name in worker_order))
    page = Page(render_html(shuffled))
    shown = [a["data-step"].split("/")[0] for a in page.find("section") if "data-step" in a]
    assert shown == sorted(worker_order)
    markdown = render_markdown(shuffled)
    assert [markdown.index(name) for name in sorted(worker_order)] == sorted(
        markdown.index(name) for name in worker_order
    )


def test_compare_on_the_page_folds_what_does_not_gate_and_shows_leaks_open() -> None:
    enforcing, open_cni = make_run(), make_run(cni="bridge", enforces=False)
    leaks = render_html(open_cni, enforcing, compare(enforcing, open_cni), ("a.json", "b.json"))
    compare_part = leaks[leaks.index('id="compare"') :]
    assert re.search(r"<h3>Leaks[^<]*\(\d+\)</h3><table", compare_part)
    categories = render_html(enforcing, open_cni, compare(open_cni, enforcing), ("b", "a"))
    compare_part = categories[categories.index('id="compare"') :]
    assert re.search(
        r"<details class='changes'><summary>[^<]*\(\d+\)</summary><table", compare_part
    )
    assert "<h3>Changed categories" not in compare_part


def test_a_check_the_run_switched_off_is_in_the_header_of_both_reports() -> None:
    off = "flapping detection off (--confirm-window 0: no confirmation after convergence)"
    run = replace(make_run(scenarios=("0-no-policies",)), options={"weakened": [off]})
    page = Page(render_html(run))
    assert len(page.find("p", **{"class": "weakened"})) == 1 and off in "".join(page.text)
    assert f"**Warning: {off}**" in render_markdown(run)
    assert not Page(render_html(make_run(scenarios=("0-no-policies",)))).find(
        "p", **{"class": "weakened"}
    )
