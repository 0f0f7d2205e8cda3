"""Test generation: one test per probe of each scenario's plan, with marks and an order.

Tests are ordered so that every scenario's tests run together: a worker then puts each
scenario's policies in force once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from netpol_conformance.cni import CniProfile
from netpol_conformance.plan.catalogue import ALL, MISTAKES, STEPS, Scenario
from netpol_conformance.plan.plan import SuitePlan
from netpol_conformance.plan.states import skip_reason
from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.probe.spec import Probe
from netpol_conformance.pytest_plugin.scheduling import scenario_scope
from netpol_conformance.scenarios.catalogue import SCENARIOS
from netpol_conformance.scenarios.model import Scenario as StateScenario
from netpol_conformance.scenarios.model import State
from netpol_conformance.scenarios.upstream import FAMILIES

GROUPS = {"step": STEPS, "mistake": MISTAKES}
_ORDER = {s.id: i for i, s in enumerate(ALL)} | {
    s.id: len(ALL) + i for i, s in enumerate(SCENARIOS)
}


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
    if "catalogue_case" in metafunc.fixturenames:
        metafunc.parametrize("catalogue_case", list(catalogue_cases(plan.profile)))
    if "tutorial_case" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("netpol_group")
    group = marker.args[0] if marker else "step"
    metafunc.parametrize("tutorial_case", list(tutorial_cases(plan, group)))


@dataclass(frozen=True)
class CatalogueCase:
    """One state of a catalogue scenario: every probe of it, judged together."""

    scenario: StateScenario
    state: State

    @property
    def id(self) -> str:
        # Reads as test_catalogue[upstream-17-named-port-ingress][allow-web]
        return f"{self.scenario.id}][{self.state.id}"


def family_marker(family: str) -> str:
    """The pytest marker of a catalogue family: ``label-updates`` -> ``label_updates``."""
    return family.replace("-", "_")


def catalogue_cases(profile: CniProfile) -> Iterator[Any]:
    """Every state of every scenario; a scenario this CNI cannot be probed for is skipped
    (whether the node carries SCTP is only known once the control probes have run)."""
    for scenario in SCENARIOS:
        marks: list[Any] = [
            pytest.mark.catalogue,
            getattr(pytest.mark, family_marker(scenario.family)),
        ]
        reason = skip_reason(scenario, profile)
        if reason:
            marks.append(pytest.mark.skip(reason=reason))
        for state in scenario.states:
            case = CatalogueCase(scenario, state)
            yield pytest.param(case, id=case.id, marks=marks)


def catalogue_markers() -> dict[str, str]:
    """The catalogue's markers: all of it, and each family."""
    out = {"catalogue": "every scenario of the catalogue", "tutorial": "the tutorial's tests"}
    for family, what in FAMILIES.items():
        out[family_marker(family)] = f"the catalogue's family: {what}"
    return out


def order_and_select(items: list[pytest.Item], cni: str) -> None:
    """Skip tests marked for other CNIs; run each scenario's tests together, in the
    catalogue's order. Tests that name no scenario (the preflight, the walkthrough, the round
    trip) come first, as collected: they are the longest, which also balances xdist. Every
    test that is not the catalogue's is the tutorial's (marker ``tutorial``)."""
    for item in items:
        if item.get_closest_marker("catalogue") is None:
            item.add_marker(pytest.mark.tutorial)
        marker = item.get_closest_marker("cni")
        if marker and cni not in marker.args:
            item.add_marker(pytest.mark.skip(reason=f"only for --cni {', '.join(marker.args)}"))
    position = {id(item): i for i, item in enumerate(items)}

    def key(item: pytest.Item) -> tuple[int, int]:
        scope = scenario_scope(item.nodeid)
        return (_ORDER.get(scope, -1), position[id(item)])

    items.sort(key=key)
