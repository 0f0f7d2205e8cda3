"""Every test of a run in the results file: a skip's reason as text, a crashed test too."""

from __future__ import annotations

import pytest

from netpol_conformance.pytest_plugin.summary import test_record as record_of


def report(outcome: str, when: str, longrepr: object) -> pytest.TestReport:
    return pytest.TestReport(
        nodeid="suites/test_hold.py::test_the_final_state_holds[5-production-isolation]",
        location=("suites/test_hold.py", 10, "test_the_final_state_holds"),
        keywords={},
        outcome=outcome,  # type: ignore[arg-type]
        longrepr=longrepr,  # type: ignore[arg-type]
        when=when,  # type: ignore[arg-type]
    )


def test_a_skip_is_recorded_with_its_reason_not_a_tuple() -> None:
    skipped = report("skipped", "setup", ("suites/test_hold.py", 12, "Skipped: the hold is off"))
    record = record_of(skipped)
    assert record is not None and record.outcome == "skipped"
    assert record.message == "the hold is off"


def test_the_test_a_worker_died_in_is_recorded() -> None:
    """xdist reports it with when="???": it must not go missing from tests[]."""
    crashed = report("failed", "???", "worker 'gw0' crashed while running 'x'")
    record = record_of(crashed)
    assert record is not None and record.outcome == "failed"
    assert "crashed while running" in record.message


def test_passing_set_ups_and_teardowns_are_not_tests() -> None:
    assert record_of(report("passed", "setup", None)) is None
    assert record_of(report("passed", "teardown", None)) is None
    assert record_of(report("failed", "setup", "boom")).outcome == "error"  # type: ignore[union-attr]
