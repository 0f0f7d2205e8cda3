"""Test generation: one test per probe of each scenario's plan, with marks and an order.

Tests are ordered so that every scenario's tests run together: a worker then puts each
scenario's policies in force once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from netpol_conformance.plan.catalogue import ALL, MISTAKES, STEPS, Scenario
from netpol_conformance.plan.plan import SuitePlan
from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.probe.spec import Probe
from netpol_conformance.pytest_plugin.scheduling import scenario_scope

GROUPS = {"step": STEPS, "mistake": MISTAKES}
_ORDER = {s.id: i for i, s in enumerate(ALL)}


@dataclass(frozen=True)
class TutorialCase:
    scenario: Scenario
    probe: Probe
    expected: Outcome

    @property
    def id(self) -> str:
        # Reads as test_step[2-allow-frontend-to-db][frontend/web->backend/db:5432/TCP=connected]
        return f"{self.scenario.id}][{self.probe.label}={self.expected.value}"


def scenario_marks(plan: SuitePlan, scenario: Scenario) -> list[Any]:
    marks: list[Any] = [getattr(pytest.mark, scenario.marker)]
    reason = plan[scenario.id].skip_reason
    if reason:
        marks.append(pytest.mark.skip(reason=reason))
    return marks


def tutorial_cases(plan: SuitePlan, group: str) -> Iterator[Any]:
    for scenario in GROUPS[group]:
        marks = scenario_marks(plan, scenario)
        for probe, outcome in plan[scenario.id].expected.items():
            case = TutorialCase(scenario, probe, outcome)
            yield pytest.param(case, id=case.id, marks=marks)


def parametrize(metafunc: pytest.Metafunc, plan: SuitePlan) -> None:
    if "tutorial_case" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("netpol_group")
    group = marker.args[0] if marker else "step"
    metafunc.parametrize("tutorial_case", list(tutorial_cases(plan, group)))


def order_and_select(items: list[pytest.Item], cni: str) -> None:
    """Skip tests marked for other CNIs; run each scenario's tests together, in the
    catalogue's order. Tests that name no scenario (the preflight, the walkthrough, the round
    trip) come first, as collected: they are the longest, which also balances xdist."""
    for item in items:
        marker = item.get_closest_marker("cni")
        if marker and cni not in marker.args:
            item.add_marker(pytest.mark.skip(reason=f"only for --cni {', '.join(marker.args)}"))
    position = {id(item): i for i, item in enumerate(items)}

    def key(item: pytest.Item) -> tuple[int, int]:
        scope = scenario_scope(item.nodeid)
        return (_ORDER.get(scope, -1), position[id(item)])

    items.sort(key=key)
