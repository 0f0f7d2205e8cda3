"""What a run observed, as plain typed values: built by the run step, read by every report.

Nothing here talks to a cluster. A ``StepResult`` is one applied state of a scenario (one
step of the tutorial, one mistake, one half of a round trip) with every probe's expectation,
observation and history; a ``RunRecord`` is the whole run: its metadata, every step result,
every scenario that could not be set up, and every test's outcome; the run after an upgrade
made by ``upgrade-check`` also holds the upgrade's timeline (``results.upgrade``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.probe.spec import Probe
from netpol_conformance.results.upgrade import UpgradeRecord

# The kinds of path a probe takes, for failure messages and reports.
SAME_NODE = "same-node"
CROSS_NODE = "cross-node"
EXTERNAL = "external"
DNS_PATH = "dns"


@dataclass(frozen=True)
class ProbeRecord:
    """One probe of one step: what was expected, what was seen, and how to see it again."""

    probe: Probe  # in the tutorial's logical names (frontend/web), not the rendered ones
    expected: Outcome
    # The observation that decided the verdict: where the cell flapped, the first poll since
    # the matrix converged that missed its expectation, else the last poll's; None if never
    # probed.
    observed: Observation | None
    met: bool
    history: tuple[Observation, ...]  # one observation per poll, oldest first
    command: str  # the exact `kubectl exec ...` that reproduces this probe
    allowed: bool = True  # whether the scenario's policies allow it (whatever the CNI does)
    evidence: str = ""  # for a refusal: what the control probe inside the destination found
    listening: bool | None = None  # that control probe's answer; None: none was needed
    path: str = ""  # SAME_NODE, CROSS_NODE, EXTERNAL, DNS_PATH, or "" when unknown
    deviation: str = ""  # the reason, when an expected deviation of the CNI covers this probe
    flap: str = ""  # when it flapped: where its history broke, and when
    enforced_after: float | None = None  # seconds from the change to the first poll of its
    # last run of polls as expected; None when it did not end as expected
    late: str = ""  # when it met its expectation later than --max-time-to-enforce: by how much

    @property
    def flapping(self) -> bool:
        return bool(self.flap)

    @property
    def attempts(self) -> int:
        return len(self.history)


@dataclass(frozen=True)
class ProbeCounts:
    """How many probes met their expectation, failed, or missed it as an expected deviation."""

    met: int
    failed: int
    deviations: int

    @classmethod
    def of(cls, probes: Iterable[ProbeRecord]) -> ProbeCounts:
        met = failed = deviations = 0
        for p in probes:
            if p.met:
                met += 1
            elif p.deviation:
                deviations += 1
            else:
                failed += 1
        return cls(met, failed, deviations)


@dataclass(frozen=True)
class StepResult:
    """One applied state of a scenario, observed until it converged (or did not)."""

    scenario: str  # the scenario this step belongs to: "2-allow-frontend-to-db", "walkthrough"
    step: str  # the state applied: a scenario id of the catalogue, or e.g. "delete-policies"
    policies: tuple[Mapping[str, Any], ...]  # every NetworkPolicy in force, as applied
    probes: tuple[ProbeRecord, ...]
    converged: bool
    polls: int
    time_to_enforce: float | None  # seconds from the apply to the first of the matching polls
    flapping: tuple[str, ...] = ()  # labels of probes whose history the change cannot explain
    phases: Mapping[str, float] = field(default_factory=dict)  # seconds: apply, converge, ...
    poll_times: tuple[float, ...] = ()  # seconds from the change to the start of each poll
    # Where the hand-written table and the oracle (on the policies as applied) disagree: a bug
    # of the suite, never of the CNI.
    disagreements: tuple[str, ...] = ()

    @property
    def failing(self) -> tuple[ProbeRecord, ...]:
        return tuple(p for p in self.probes if not p.met)

    @property
    def passed(self) -> bool:
        """Converged, and every probe met its expectation or is an expected deviation: what a
        test of the whole step asserts (a probe that flapped after convergence fails it)."""
        return self.converged and all(p.met or p.deviation for p in self.probes)

    def probe(self, probe: Probe) -> ProbeRecord:
        for record in self.probes:
            if record.probe == probe:
                return record
        raise KeyError(probe.label)


@dataclass(frozen=True)
class NodeRecord:
    name: str
    pods: tuple[str, ...] = ()  # logical names of the test pods on this node


@dataclass(frozen=True)
class ClusterRecord:
    kind: str  # kind, existing, local, simulated
    kubernetes_version: str = ""
    context: str = ""
    nodes: tuple[NodeRecord, ...] = ()


@dataclass(frozen=True)
class CniRecord:
    name: str
    enforces: bool
    deny_style: str
    version: str = ""  # detected from the cluster where it shows it (its DaemonSet's image tag)


@dataclass(frozen=True)
class TestRecord:
    """One pytest test of the run, whatever it checked."""

    nodeid: str
    outcome: str  # passed, failed, skipped, xfailed, xpassed, error
    duration: float = 0.0
    scenario: str = ""
    message: str = ""  # the failure, skip or xfail reason, shortened
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    """Everything one run did: the contents of the results file."""

    suite_version: str
    started: str  # ISO 8601, UTC
    finished: str
    status: str  # passed, failed, error (could not run), interrupted, incomplete (lost work)
    options: Mapping[str, Any]
    cluster: ClusterRecord
    cni: CniRecord
    steps: tuple[StepResult, ...] = ()
    setup_errors: Mapping[str, str] = field(default_factory=dict)  # scenario id -> error text
    tests: tuple[TestRecord, ...] = ()
    error: str = ""  # why the run could not run, when status is error
    upgrade: UpgradeRecord | None = None  # upgrade-check's live timeline, on its after-run
    lost: Mapping[str, str] = field(default_factory=dict)  # scenario -> why it never finished
    # Read back from a file: probes whose stored verdict its own observations contradict (the
    # verdicts read are the observations', never the stored ones).
    inconsistent: tuple[str, ...] = ()
