"""The tutorial as a reader follows it: steps 0 to 5 applied on top of each other, in order."""

import pytest

from netpol_conformance.report.truth_tables import failure_summary


def test_walkthrough(netpol_runner, record_property):
    """Apply each step on top of the previous one; every step's matrix must converge, and every
    probe keep its verdict once it did (no flapping)."""
    results = netpol_runner.walkthrough()
    for r in results:
        record_property(f"time_to_enforce_{r.step}_s", r.time_to_enforce)
    failures = [failure_summary(r) for r in results if not r.passed]
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
