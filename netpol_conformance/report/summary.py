"""A run's verdict and counts, per step and in total, for the reports' headers."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from netpol_conformance.results.compare import StepKey, keyed_steps
from netpol_conformance.results.records import (
    ProbeCounts,
    RunRecord,
    StepResult,
    counts_by_path,
)
from netpol_conformance.scenarios import catalogue
from netpol_conformance.scenarios.upstream import FAMILIES

PASSED = "passed"
FAILED = "failed"
ERROR = "error"
INTERRUPTED = "interrupted"
INCOMPLETE = "incomplete"  # a worker died: some scenarios never finished
DEVIATIONS = "deviations"  # a step whose only differences are expected deviations


@dataclass(frozen=True)
class StepSummary:
    key: StepKey
    step: StepResult
    met: int
    failed: int
    deviations: int

    @property
    def total(self) -> int:
        return len(self.step.probes)

    @property
    def state(self) -> str:
        if self.failed:
            return FAILED
        return DEVIATIONS if self.deviations else PASSED


@dataclass(frozen=True)
class RunSummary:
    run: RunRecord
    steps: tuple[StepSummary, ...]
    tests: Counter[str]

    @property
    def probes(self) -> int:
        return sum(s.total for s in self.steps)

    @property
    def met(self) -> int:
        return sum(s.met for s in self.steps)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.steps)

    @property
    def deviations(self) -> int:
        return sum(s.deviations for s in self.steps)

    @property
    def verdict(self) -> str:
        if self.run.status in (ERROR, INTERRUPTED):
            return self.run.status
        failing = (
            self.failed
            or self.run.setup_errors
            or self.run.lost
            or self.tests["failed"]
            or self.tests["error"]
            or self.run.inconsistent  # a file that contradicts itself proves nothing
        )
        return FAILED if failing or self.run.status == FAILED else PASSED

    @property
    def headline(self) -> str:
        parts = [f"{self.met} of {self.probes} probes as expected"]
        if self.failed:
            bad = sum(1 for s in self.steps if s.failed)
            parts.append(f"{self.failed} not, in {bad} of {len(self.steps)} steps")
        if self.deviations:
            n = self.deviations
            parts.append(f"{n} expected deviation{'s' if n != 1 else ''} of the CNI")
        if self.run.setup_errors:
            n = len(self.run.setup_errors)
            parts.append(f"{n} scenario{'s' if n != 1 else ''} could not be set up")
        if self.run.lost:
            n = len(self.run.lost)
            why = next(iter(self.run.lost.values()))
            lost = ", ".join(self.run.lost)
            parts.insert(0, f"incomplete: {n} scenario{'s' if n != 1 else ''} lost ({lost}): {why}")
        if self.tests:
            counted = ", ".join(f"{n} {outcome}" for outcome, n in sorted(self.tests.items()))
            parts.append(f"tests: {counted}")
        if self.run.inconsistent:
            n = len(self.run.inconsistent)
            parts.insert(
                0,
                f"{n} stored verdict{'s' if n != 1 else ''} of this file contradict "
                f"{'their' if n != 1 else 'its'} own observation{'s' if n != 1 else ''} "
                f"(judged from the observations): {self.run.inconsistent[0]}",
            )
        if self.run.status == ERROR and self.run.error:
            parts.insert(0, f"the run could not run: {self.run.error}")
        elif self.run.status == INTERRUPTED:
            parts.insert(0, "the run was interrupted")
        return "; ".join(parts)


@dataclass(frozen=True)
class FamilySummary:
    """The catalogue's states of one family in a run, for a glance at which family failed."""

    family: str  # its title, e.g. "label updates"
    scenarios: int
    states: int
    failed: int  # states with a probe not as expected
    deviations: int  # states whose only differences are expected deviations

    @property
    def state(self) -> str:
        if self.failed:
            return FAILED
        return DEVIATIONS if self.deviations else PASSED


def families(summary: RunSummary) -> list[FamilySummary]:
    """The run's catalogue states by family, in the catalogue's order of families."""
    grouped: dict[str, list[StepSummary]] = {}
    for s in summary.steps:
        scenario = catalogue.BY_ID.get(s.step.scenario)
        if scenario is not None:
            grouped.setdefault(scenario.family, []).append(s)
    return [
        FamilySummary(
            FAMILIES[family],
            len({s.step.scenario for s in states}),
            len(states),
            sum(1 for s in states if s.state == FAILED),
            sum(1 for s in states if s.state == DEVIATIONS),
        )
        for family in FAMILIES
        if (states := grouped.get(family))
    ]


@dataclass(frozen=True)
class PathSummary:
    """The run's probes over one kind of path: a bug of one node's or of the nodes' link shows
    as cross-node failures next to clean same-node ones."""

    path: str  # same-node, cross-node, external, dns
    counts: ProbeCounts

    @property
    def probes(self) -> int:
        return self.counts.total

    @property
    def state(self) -> str:
        if self.counts.failed:
            return FAILED
        return DEVIATIONS if self.counts.deviations else PASSED


def paths(summary: RunSummary) -> list[PathSummary]:
    """The run's probes by path, same-node and cross-node apart; none unless the run had both
    (pods on two nodes)."""
    counts = counts_by_path(s.step for s in summary.steps)
    return [PathSummary(path, c) for path, c in counts.items()]


def summarize(run: RunRecord) -> RunSummary:
    """The run's steps, grouped by scenario in name order (the tutorial's are numbered), each
    scenario's steps in the order they ran: under -n auto the file holds them worker by worker,
    which would put step 2 after step 5."""
    by_scenario = sorted(keyed_steps(run), key=lambda keyed: keyed[0].scenario)
    steps = tuple(
        StepSummary(key, step, counts.met, counts.failed, counts.deviations)
        for key, step in by_scenario
        for counts in [ProbeCounts.of(step.probes)]
    )
    return RunSummary(run, steps, Counter(t.outcome for t in run.tests))


def weakened(run: RunRecord) -> list[str]:
    """The checks the run's options switched off (results files since 1.3 say so)."""
    value = run.options.get("weakened") or []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def run_title(run: RunRecord) -> str:
    """``calico v3.29.3 on kind, Kubernetes v1.34.2``: which run this is, in a few words."""
    cni = f"{run.cni.name} {run.cni.version}".strip()
    version = run.cluster.kubernetes_version
    k8s = f", Kubernetes {version}" if version else ""
    return f"{cni} on {run.cluster.kind}{k8s}"
