"""The tutorial as a reader follows it: one set of namespaces, steps 0 to 5 in order."""

import pytest

from netpol_conformance.tutorial.scenarios import STEPS


def test_walkthrough(scenario_book, record_property):
    """Apply each step on top of the previous one; every step's matrix must converge."""
    env = scenario_book.environment("walkthrough")
    env.create()
    failures = []
    for scenario in STEPS:
        report = env.apply_scenario(scenario)
        record_property(f"time_to_enforce_{scenario.id}_s", report.state.time_to_enforce)
        if not report.converged:
            failures.append(report.failure_summary())
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
