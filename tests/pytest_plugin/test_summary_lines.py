"""The summary's line for a CNI that enforces nothing counts the tutorial and the catalogue."""

from __future__ import annotations

import dataclasses

from helpers.report_runs import make_step

from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.pytest_plugin.summary import not_enforced_line
from netpol_conformance.results.records import StepResult


def open_step(scenario: str = "1-default-deny-ingress") -> StepResult:
    """The step on a CNI that enforces nothing: what the policies deny got through."""
    enforced = make_step(scenario)
    through = make_step(scenario, enforces=False)
    probes = tuple(
        dataclasses.replace(
            r, allowed=e.expected is Outcome.CONNECTED or e.expected is Outcome.DNS_OK
        )
        for r, e in zip(through.probes, enforced.probes, strict=True)
    )
    return dataclasses.replace(through, probes=probes)


def as_catalogue_state(step: StepResult, scenario: str, state: str) -> StepResult:
    return dataclasses.replace(step, scenario=scenario, step=state)


def test_the_tutorial_and_the_catalogue_are_counted_apart() -> None:
    tutorial = open_step()
    denied = sum(1 for r in tutorial.probes if not r.allowed)
    state = as_catalogue_state(
        open_step(),
        "upstream-01-default-deny-ingress",
        "policies",
    )
    # a transition of the tutorial (its own step is another) is not a verdict of it
    transition = dataclasses.replace(tutorial, step="restore-open")
    line = not_enforced_line("flannel", [tutorial, state, transition])
    assert denied > 0
    assert line == (
        "flannel does NOT enforce NetworkPolicy: of the probes the policies deny, "
        f"tutorial {denied} of {denied}, catalogue {denied} of {denied} got through anyway."
    )


def test_a_catalogue_only_run_names_only_the_catalogue() -> None:
    state = as_catalogue_state(open_step(), "beyond-pod-label-removed", "x")
    line = not_enforced_line("bridge", [state])
    assert "tutorial" not in line and "catalogue" in line
