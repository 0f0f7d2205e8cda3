"""The report page: one self-contained HTML file, no script, no network asset.

A header with the run's metadata and verdict, the upgrade's timeline when the run is the one
after an upgrade-check, a summary of the steps with their time to
enforce as an inline SVG chart, the comparison with an earlier run when given, then every step
with its policies and truth tables.
"""

from __future__ import annotations

import json
from html import escape
from importlib import resources

from netpol_conformance.report.html_compare import comparison_html
from netpol_conformance.report.html_step import STATE_SYMBOL, step_section
from netpol_conformance.report.html_upgrade import upgrade_section
from netpol_conformance.report.summary import PASSED, RunSummary, run_title, summarize, weakened
from netpol_conformance.report.svg_chart import EnforceBar, enforce_chart
from netpol_conformance.results.compare import Comparison, keyed_steps
from netpol_conformance.results.records import RunRecord

VERDICT_BADGE = {
    "passed": "\u2713 PASSED",
    "failed": "\u2717 FAILED",
    "error": "\u26a0 COULD NOT RUN",
    "interrupted": "\u26a0 INTERRUPTED",
}
LEGEND = (
    '<p class="legend">Marks: <b>.</b> connected / resolved · <b>X</b> timed out / DNS failed · '
    "<b>R</b> refused · <b>E</b> exec error · <b>?</b> not observed. In the observed tables: "
    '<span class="cell miss">X*</span> not as expected · '
    '<span class="cell deviation">X~</span> an expected deviation of the CNI. '
    "Hover over a cell for the probe's history and command.</p>"
)


def stylesheet() -> str:
    return resources.files("netpol_conformance.report").joinpath("report.css").read_text("utf-8")


def _meta(run: RunRecord) -> str:
    cni = run.cni
    enforcement = (
        f"enforces NetworkPolicy, deny style: {cni.deny_style}"
        if cni.enforces
        else "does not enforce NetworkPolicy"
    )
    nodes = "<br>".join(
        f"{escape(n.name)}: {escape(', '.join(n.pods) or 'no test pods')}"
        for n in run.cluster.nodes
    )
    rows = [
        ("CNI", f"{cni.name} {cni.version or '(version not shown by the cluster)'}"),
        ("profile", enforcement),
        (
            "cluster",
            f"{run.cluster.kind}, Kubernetes {run.cluster.kubernetes_version or 'unknown'}"
            + (f", context {run.cluster.context}" if run.cluster.context else ""),
        ),
        ("run", f"{run.started} to {run.finished}, status {run.status}"),
        ("suite", f"netpol-conformance {run.suite_version}"),
    ]
    out = ['<dl class="meta">']
    out += [f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows]
    if nodes:
        out.append(f"<dt>nodes</dt><dd>{nodes}</dd>")
    if run.error:
        out.append(f"<dt>error</dt><dd><pre>{escape(run.error)}</pre></dd>")
    options = json.dumps(run.options, indent=1, sort_keys=True, default=str)
    out.append(
        f"<dt>options</dt><dd><details><summary>{len(run.options)} options</summary>"
        f"<pre>{escape(options)}</pre></details></dd>"
    )
    out.append("</dl>")
    return "".join(out)


def _header(summary: RunSummary) -> str:
    """The page's verdict: on an upgrade's page, the upgrade's first (a passing suite after a
    failed upgrade must not lead the page with PASSED)."""
    run = summary.run
    v = summary.verdict
    if run.upgrade is not None and not run.upgrade.passed:
        v = "failed"
    warnings = "".join(f'<p class="weakened">{escape(w)}</p>' for w in weakened(run))
    return (
        f'<header class="page {v}"><h1>NetworkPolicy conformance: {escape(run_title(run))}</h1>'
        f'<p class="verdict"><span class="badge {v}">{VERDICT_BADGE[v]}</span>'
        f"{escape(_suite(run) + summary.headline)}</p>{warnings}{_meta(run)}</header>"
    )


def _suite(run: RunRecord) -> str:
    """Whose verdict the header gives, when the page also holds an upgrade's."""
    if run.upgrade is None:
        return ""
    if not run.upgrade.passed:
        return f"the upgrade failed: {'; '.join(run.upgrade.reasons)}; the suite after it: "
    return "the upgrade passed; the suite after it: "


def _steps_table(summary: RunSummary, anchors: list[str]) -> str:
    head = ["", "step", "probes", "as expected", "not", "deviations", "polls", "time to enforce"]
    out = ['<table class="list steps"><thead><tr>']
    out += [f"<th>{h}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for s, anchor in zip(summary.steps, anchors, strict=True):
        tte = s.step.time_to_enforce
        out.append(
            f'<tr class="{s.state}"><td>{STATE_SYMBOL[s.state]}</td>'
            f'<td><a href="#{anchor}">{escape(str(s.key))}</a></td>'
            f'<td class="num">{s.total}</td><td class="num">{s.met}</td>'
            f'<td class="num">{s.failed}</td><td class="num">{s.deviations}</td>'
            f'<td class="num">{s.step.polls}</td>'
            f'<td class="num">{"not converged" if tte is None else f"{tte:.1f} s"}</td></tr>'
        )
    out.append("</tbody></table>")
    return "".join(out)


def _chart(summary: RunSummary, before: RunRecord | None) -> str:
    old = {key: step.time_to_enforce for key, step in keyed_steps(before)} if before else {}
    bars = [
        EnforceBar(
            str(s.key), s.step.time_to_enforce, old.get(s.key), before is not None and s.key in old
        )
        for s in summary.steps
    ]
    legend = (
        '<p class="chart-legend"><span style="background:#0072b2"></span>this run'
        '<span style="background:#9aa4ae"></span>before</p>'
        if before
        else ""
    )
    return f"<h2>Time to enforce</h2>{legend}{enforce_chart(bars)}"


def _setup_errors(run: RunRecord) -> str:
    if not run.setup_errors:
        return ""
    items = "".join(
        f"<li><b>{escape(k)}</b><pre>{escape(v)}</pre></li>" for k, v in run.setup_errors.items()
    )
    return (
        '<section id="setup-errors"><h2>Scenarios that could not be set up</h2>'
        f"<ul>{items}</ul></section>"
    )


def _tests(summary: RunSummary) -> str:
    others = [t for t in summary.run.tests if t.outcome != PASSED]
    if not others:
        return ""
    rows = "".join(
        f"<tr><td>{escape(t.outcome)}</td><td><code>{escape(t.nodeid)}</code></td>"
        f"<td>{escape(t.message)}</td></tr>"
        for t in others
    )
    table = (
        "<table class='list'><thead><tr><th>outcome</th><th>test</th><th>message</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )
    if len(others) > 20:  # a long list stays folded
        table = f"<details><summary>{len(others)} tests</summary>{table}</details>"
    return f"<section id='tests'><h2>Tests not passed ({len(others)})</h2>{table}</section>"


def render_html(
    run: RunRecord,
    before: RunRecord | None = None,
    comparison: Comparison | None = None,
    names: tuple[str, str] = ("before", "this run"),
) -> str:
    """The whole page for ``run``; with ``before`` and its ``comparison``, that too."""
    summary = summarize(run)
    anchors = [f"step-{i + 1}" for i in range(len(summary.steps))]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>netpol-conformance: {escape(run_title(run))}: "
        f"{escape(VERDICT_BADGE[summary.verdict][2:].lower())}</title>",
        f"<style>\n{stylesheet()}</style></head><body>",
        _header(summary),
        upgrade_section(run.upgrade) if run.upgrade is not None else "",
        "<h2>Steps</h2>",
        _steps_table(summary, anchors),
        _chart(summary, before) if summary.steps else "",
        _setup_errors(run),
    ]
    if comparison is not None:
        parts.append(comparison_html(comparison, *names))
    parts.append(_tests(summary))
    if summary.steps:
        parts.append(LEGEND)
    parts += [step_section(s, a) for s, a in zip(summary.steps, anchors, strict=True)]
    parts.append("</body></html>\n")
    return "\n".join(p for p in parts if p)
