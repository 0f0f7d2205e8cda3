"""The report groups the catalogue's states by family: which family failed shows at a glance."""

from __future__ import annotations

import dataclasses

from report_runs import blocks, make_run, make_step

from netpol_conformance.report.html_report import render_html
from netpol_conformance.report.summary import FAILED, PASSED, families, summarize
from netpol_conformance.results.records import RunRecord, StepResult

LEAKS = blocks("1-default-deny-ingress", {"frontend/web->frontend/admin:80/TCP"})


def as_state(scenario: str, state: str, fault=None) -> StepResult:
    step = make_step("1-default-deny-ingress", fault=fault)
    return dataclasses.replace(step, scenario=scenario, step=state)


def run_with(*states: StepResult) -> RunRecord:
    run = make_run(scenarios=("0-no-policies",))
    return dataclasses.replace(run, steps=(*run.steps, *states))


def test_states_are_counted_by_family_in_the_catalogues_order() -> None:
    run = run_with(
        as_state("upstream-21-from-updated-namespace", "policy"),
        as_state("upstream-21-from-updated-namespace", "y-labelled", LEAKS),
        as_state("beyond-pod-label-removed", "in-force"),
        as_state("upstream-01-default-deny-ingress", "policies"),
    )
    rows = families(summarize(run))
    assert [(f.family, f.scenarios, f.states, f.failed, f.state) for f in rows] == [
        ("default deny and allow-all", 1, 1, 0, PASSED),
        ("label updates", 2, 3, 1, FAILED),
    ]


def test_a_run_without_the_catalogue_has_no_family_table() -> None:
    run = run_with()
    assert families(summarize(run)) == []
    assert "The catalogue by family" not in render_html(run)


def test_the_page_shows_the_failed_family() -> None:
    page = render_html(run_with(as_state("upstream-22-from-updated-pod", "x-b-labelled", LEAKS)))
    table = page[page.index("The catalogue by family") : page.index("<h2>Steps</h2>")]
    assert '<tr class="failed">' in table and "label updates" in table
