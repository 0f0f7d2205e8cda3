"""The reports show same-node and cross-node outcomes apart: a bug of one node, or of the link
between the nodes, shows as failures on one kind of path only."""

from __future__ import annotations

import dataclasses

from report_runs import blocks, make_run

from netpol_conformance.pytest_plugin.summary import path_line
from netpol_conformance.report.html_report import render_html
from netpol_conformance.report.markdown import render_markdown
from netpol_conformance.report.summary import FAILED, PASSED, paths, summarize
from netpol_conformance.results.records import CROSS_NODE, SAME_NODE

# frontend/web and backend/db share node-a, production/web is on node-b (report_runs' NODES)
CROSS = "frontend/web->production/web:80/TCP"
SAME = "frontend/web->backend/db:80/TCP"
OPEN = "0-no-policies"  # every probe allowed: a blocked one fails


def test_probes_are_counted_by_path() -> None:
    run = make_run(fault=blocks(OPEN, {CROSS}))
    rows = {p.path: p for p in paths(summarize(run))}
    assert rows[CROSS_NODE].state == FAILED and rows[CROSS_NODE].counts.failed == 1
    assert rows[SAME_NODE].state == PASSED and rows[SAME_NODE].counts.failed == 0
    total = sum(len(s.probes) for s in run.steps)
    assert sum(p.probes for p in rows.values()) == total


def test_a_same_node_failure_is_counted_there() -> None:
    run = make_run(fault=blocks(OPEN, {SAME}))
    rows = {p.path: p for p in paths(summarize(run))}
    assert rows[SAME_NODE].counts.failed == 1 and rows[CROSS_NODE].counts.failed == 0


def test_the_pages_show_the_paths_apart() -> None:
    run = make_run(fault=blocks(OPEN, {CROSS}))
    page = render_html(run)
    table = page[page.index("<h2>By path</h2>") : page.index("<h2>Steps</h2>")]
    row = table[table.index("cross-node") - 60 :]
    assert '<tr class="failed">' in row[: row.index("cross-node")]
    md = render_markdown(run)
    section = md[md.index("## By path") : md.index("## Steps")]
    assert "cross-node" in section and "same-node" in section


def test_a_run_on_one_node_has_no_path_table() -> None:
    run = make_run()
    one_node = dataclasses.replace(
        run,
        steps=tuple(
            dataclasses.replace(
                s,
                probes=tuple(
                    dataclasses.replace(p, path=SAME_NODE if p.path == CROSS_NODE else p.path)
                    for p in s.probes
                ),
            )
            for s in run.steps
        ),
    )
    assert paths(summarize(one_node)) == []
    assert "<h2>By path</h2>" not in render_html(one_node)


def test_the_terminal_summary_has_a_line_by_path() -> None:
    run = make_run(fault=blocks(OPEN, {CROSS}))
    line = path_line(run.steps)
    assert line.startswith("probes by path: same-node ")
    parts = {p.split()[0]: p for p in line.removeprefix("probes by path: ").split(", ")}
    assert parts["cross-node"].endswith("(1 failed)") and parts["same-node"].endswith("(0 failed)")
    assert path_line(()) == ""
