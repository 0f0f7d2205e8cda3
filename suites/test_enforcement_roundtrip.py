"""A policy takes effect after apply and stops taking effect after delete."""

import pytest

from netpol_conformance.report.truth_tables import failure_summary


@pytest.mark.step1
def test_apply_then_delete_returns_to_open(netpol_runner, record_property):
    """default-deny-ingress is enforced, then removed: the matrix goes back to all-open, and no
    probe of either change flaps."""
    applied, removed = netpol_runner.roundtrip("1-default-deny-ingress")
    record_property("time_to_enforce_apply_s", applied.time_to_enforce)
    record_property("time_to_enforce_delete_s", removed.time_to_enforce)
    problems = [failure_summary(r) for r in (applied, removed) if not r.passed]
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
    assert applied.time_to_enforce is not None
    assert removed.time_to_enforce is not None
