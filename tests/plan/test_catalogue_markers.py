"""The markers and the final state come from the catalogue, not from a second list."""

from __future__ import annotations

import re
from pathlib import Path

from netpol_conformance.plan.catalogue import ALL, FINAL_STATE, STEPS, markers


def test_every_scenario_has_a_registered_marker_and_no_marker_is_left_over() -> None:
    assert markers() == {
        "step0": "tutorial step 0-no-policies",
        "step1": "tutorial step 1-default-deny-ingress",
        "step2": "tutorial step 2-allow-frontend-to-db",
        "step3": "tutorial step 3-default-deny-egress",
        "step4": "tutorial step 4-allow-external-db-egress",
        "step5": "tutorial step 5-production-isolation",
        "mistake": "the mistake scenarios",
        "step6": 'tutorial step 6, "Verify Your Policies" (suites/test_verify.py)',
    }
    assert {s.marker for s in ALL} | {"step6"} == set(markers())


def test_every_marker_the_suites_use_is_registered() -> None:
    """A marker used in suites/ but not registered is a warning, and with --strict-markers an
    error: the registered set comes from the catalogue, so it must cover them all."""
    suites = Path(__file__).resolve().parents[2] / "suites"
    used = {
        m
        for path in suites.glob("*.py")
        for m in re.findall(r"pytest\.mark\.(step\d+|mistake)\b", path.read_text())
    }
    assert used and used <= set(markers())


def test_the_final_state_is_the_tutorials_last_step() -> None:
    assert FINAL_STATE == STEPS[-1].id == "5-production-isolation"
