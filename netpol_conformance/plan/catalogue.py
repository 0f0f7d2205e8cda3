"""The tutorial's steps and common mistakes as the run takes them: one state each, with the
manifest folders that put it in force (from the open state) and its hand-written table.

Derived from the scenarios of states in ``scenarios.tutorial``: step N applies the folders of
steps 1 to N. What the run adds here is how a scenario is scheduled and selected: its group
(marker), whether it needs the external host, and which scenario runs with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from netpol_conformance.scenarios import tutorial
from netpol_conformance.scenarios.model import ALLOW, DENY, ApplyManifests, TableRule, table_allows
from netpol_conformance.scenarios.model import Scenario as StateScenario

__all__ = ["ALLOW", "DENY", "TableRule"]

S2, S3, S4 = tutorial.S2, tutorial.S3, tutorial.S4


@dataclass(frozen=True)
class Scenario:
    id: str
    folders: tuple[str, ...]  # manifest folders applied in this order
    table: tuple[TableRule, ...]
    group: str = "step"  # "step" or "mistake"
    uses_external: bool = False
    # A scenario whose tests also read this one: both run on the same worker, so that neither
    # is put in force twice in one run (and a run's steps do not depend on the scheduling).
    runs_with: str | None = None

    @property
    def marker(self) -> str:
        """The pytest marker of the scenario's group: ``step2``, ``mistake``."""
        return f"step{self.id.split('-')[0]}" if self.group == "step" else self.group

    def expect_allowed(self, src: str, dst: str, port: int, protocol: str = "TCP") -> bool:
        return table_allows(self.table, src, dst, f"{port}/{protocol}")


USES_EXTERNAL = {"4-allow-external-db-egress", "except-covers-the-target"}
RUNS_WITH = {"or-instead-of-and": "2-allow-frontend-to-db"}  # test_or_variant_lets_more_in_than_and


def _folders(scenario: StateScenario, upto: int) -> tuple[str, ...]:
    return tuple(
        c.folder
        for state in scenario.states[: upto + 1]
        for c in state.changes
        if isinstance(c, ApplyManifests)
    )


def _run_as(scenario: StateScenario, index: int, group: str) -> Scenario:
    state = scenario.states[index]
    return Scenario(
        state.id,
        _folders(scenario, index),
        state.table,
        group=group,
        uses_external=state.id in USES_EXTERNAL,
        runs_with=RUNS_WITH.get(state.id),
    )


STEPS: tuple[Scenario, ...] = tuple(
    _run_as(tutorial.WALKTHROUGH, i, "step") for i in range(len(tutorial.WALKTHROUGH.states))
)
MISTAKES: tuple[Scenario, ...] = tuple(_run_as(m, 0, "mistake") for m in tutorial.MISTAKES)

ALL: tuple[Scenario, ...] = STEPS + MISTAKES
BY_ID = {s.id: s for s in ALL}
# The tutorial's last step: every namespace isolated, with the steps before it in force under it.
FINAL_STATE = STEPS[-1].id


# The tutorial's steps that put no policy state in force: their tests read the others' results.
STEPS_WITHOUT_STATE = {"step6": 'tutorial step 6, "Verify Your Policies" (suites/test_verify.py)'}


def markers() -> dict[str, str]:
    """Every pytest marker of the catalogue's scenarios and of the tutorial's steps without a
    state of their own, with what it selects."""
    found: dict[str, str] = {}
    for s in ALL:
        what = f"tutorial step {s.id}" if s.group == "step" else f"the {s.group} scenarios"
        found.setdefault(s.marker, what)
    return {**found, **STEPS_WITHOUT_STATE}
