"""A policy takes effect after apply and stops taking effect after delete."""

import pytest

from netpol_conformance.tutorial.scenarios import BY_ID


@pytest.mark.step1
def test_apply_then_delete_returns_to_open(scenario_book, record_property):
    """default-deny-ingress is enforced, then removed: the matrix goes back to all-open."""
    env = scenario_book.environment("roundtrip")
    env.create()
    env.baseline()
    applied = env.apply_scenario(BY_ID["1-default-deny-ingress"])
    removed = env.remove_policies()
    record_property("time_to_enforce_apply_s", applied.state.time_to_enforce)
    record_property("time_to_enforce_delete_s", removed.state.time_to_enforce)
    problems = [r.failure_summary() for r in (applied, removed) if not r.converged]
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
    assert applied.state.time_to_enforce is not None
    assert removed.state.time_to_enforce is not None
