"""What a run observed, as plain typed values: built by the run step, read by every report.

Nothing here talks to a cluster. A ``StepResult`` is one applied state of a scenario (one
step of the tutorial, one mistake, one half of a round trip) with every probe's expectation,
observation and history; a ``RunRecord`` is the whole run: its metadata, every step result,
every scenario that could not be set up, and every test's outcome; the run after an upgrade
made by ``upgrade-check`` also holds the upgrade's timeline (``results.upgrade``).

These classes are also the results file: pydantic reads their fields, the descriptions under
them and the computed fields below, and gives the JSON writer, the validating reader and the
JSON Schema (``results.serialize``). A field added here is in all three.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, computed_field

from netpol_conformance.plan.judge import deny_styles
from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.probe.spec import Probe
from netpol_conformance.results.fields import KindName, ScenarioErrors, Seconds
from netpol_conformance.results.upgrade import UpgradeRecord
from netpol_conformance.results.versions import FORMAT, SCHEMA_VERSION

# The kinds of path a probe takes, for failure messages and reports.
SAME_NODE = "same-node"
CROSS_NODE = "cross-node"
EXTERNAL = "external"
DNS_PATH = "dns"

DESCRIBED = ConfigDict(use_attribute_docstrings=True)

# A probe's fields as a results file names them (a ProbeRecord's computed fields), and as
# ``Probe`` does: what a reader nests back into the record's ``probe``.
PROBE_FIELDS = (
    ("from", "source"),
    ("kind", "kind"),
    ("to", "target"),
    ("port", "port"),
    ("protocol", "protocol"),
    ("name", "name"),
)


@dataclass(frozen=True)
class ProbeRecord:
    """One probe of one step: what was expected, what was seen, and how to see it again."""

    __pydantic_config__ = DESCRIBED

    probe: Annotated[Probe, Field(exclude=True)]
    """In the tutorial's logical names (frontend/web), not the rendered ones; written as its
    fields (label, from, to, port, protocol, kind, name)."""
    expected: Outcome
    observed: Observation | None
    """The observation that decided the verdict: where the probe flapped, the first poll since
    the matrix converged that missed its expectation, else the last poll's; null if never
    probed."""
    met: bool
    history: tuple[Observation, ...]
    """One observation per poll, oldest first."""
    command: str
    """The exact command that reproduces this probe, with the source port it last bound."""
    allowed: bool = True
    """Whether the scenario's policies allow it, whatever the CNI does (since 2.1)."""
    denied_by: tuple[str, ...] = ()
    """The directions whose policies deny it, as the oracle reads the policies as applied:
    egress (enforced on the source's node), ingress (on the destination's); empty when
    allowed (since 2.2)."""
    evidence: str = ""
    """For a refusal: what the control probe inside the destination found."""
    listening: bool | None = None
    """For a refusal: whether the control probe inside the destination found its server
    accepting; null when none was needed (since 2.0)."""
    path: str = ""
    """same-node, cross-node, external, dns, or empty when unknown."""
    deviation: str = ""
    """The reason, when an expected deviation of the CNI covers this probe."""
    flap: str = ""
    """For a flapping probe: the observation where its history broke, when, and after what
    (since 2.0); empty otherwise."""
    enforced_after: float | None = None
    """Seconds from the change to the first poll of the probe's last run of polls as expected;
    null when it did not end as expected (since 2.0)."""
    late: str = ""
    """When it met its expectation later than --max-time-to-enforce: by how much (since
    2.0)."""

    @computed_field(description="from->to:port/protocol, or from->dns:name.")
    @property
    def label(self) -> str:
        return self.probe.label

    @computed_field(alias="from", description="Source pod, logical name (namespace/pod).")
    @property
    def source(self) -> str:
        return self.probe.source

    @computed_field(
        alias="to",
        description="Destination: a pod's logical name, the external host, or dns.",
    )
    @property
    def target(self) -> str:
        return self.probe.target

    @computed_field
    @property
    def port(self) -> int:
        return self.probe.port

    @computed_field
    @property
    def protocol(self) -> str:
        return self.probe.protocol

    @computed_field
    @property
    def kind(self) -> KindName:
        return self.probe.kind

    @computed_field(description="The name looked up, for dns probes.")
    @property
    def name(self) -> str:
        return self.probe.name

    @computed_field(description="Number of polls that observed this probe.")
    @property
    def attempts(self) -> int:
        return len(self.history)

    @property
    def flapping(self) -> bool:
        return bool(self.flap)


@dataclass(frozen=True)
class ProbeCounts:
    """How many probes met their expectation, failed, or missed it as an expected deviation."""

    met: int
    failed: int
    deviations: int

    @property
    def total(self) -> int:
        return self.met + self.failed + self.deviations

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

    __pydantic_config__ = DESCRIBED

    scenario: str
    """The scenario this step belongs to: 2-allow-frontend-to-db, walkthrough, ..."""
    step: str
    """The state applied: a scenario id of the catalogue, or e.g. delete-policies."""
    policies: tuple[Mapping[str, Any], ...]
    """Every NetworkPolicy in force, as applied."""
    probes: tuple[ProbeRecord, ...]
    converged: bool
    """Two consecutive polls matched the expectation."""
    polls: int
    time_to_enforce: float | None
    """Seconds from the apply to the first of the matching polls; null when it never
    converged."""
    flapping: tuple[str, ...] = ()
    """Labels of probes whose history the change cannot explain."""
    phases: Mapping[str, float] = field(default_factory=dict)
    """Seconds spent per phase (apply, converge, ...)."""
    poll_times: tuple[Seconds, ...] = ()
    """Seconds from the change to the start of each poll (since 2.0)."""
    disagreements: tuple[str, ...] = ()
    """Where the hand-written table and the oracle (on the policies as applied) disagree: a bug
    of the suite, never of the CNI (since 2.1)."""

    @computed_field(
        description="How the probes this step denies were observed (since 1.1): counts of "
        "refused and timeout among them."
    )
    @property
    def deny_style(self) -> dict[str, int]:
        return dict(deny_styles((r.expected, r.observed) for r in self.probes))

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


def enforcing_nodes(
    node_of: Mapping[str, str], source: str, target: str, denied_by: Iterable[str]
) -> frozenset[str]:
    """The nodes whose enforcers deny a probe (``node_of``: pod -> node, the run's
    ``cluster.node_of``): the source's for egress, the destination's for ingress ("?" where the
    pod's node is not known)."""
    return frozenset(node_of.get(source if d == "egress" else target, "?") for d in denied_by)


# The paths a probe may take, in the order the reports show them.
PATHS = (SAME_NODE, CROSS_NODE, EXTERNAL, DNS_PATH)


def counts_by_path(steps: Iterable[StepResult]) -> dict[str, ProbeCounts]:
    """The steps' probes counted by path, in ``PATHS`` order; empty unless the run had both
    same-node and cross-node probes (pods on two nodes), where showing them apart tells a bug
    of one node, or of the link between the nodes, from one of the policies."""
    grouped: dict[str, list[ProbeRecord]] = {}
    for step in steps:
        for p in step.probes:
            grouped.setdefault(p.path, []).append(p)
    if not (grouped.get(SAME_NODE) and grouped.get(CROSS_NODE)):
        return {}
    return {path: ProbeCounts.of(grouped[path]) for path in PATHS if path in grouped}


@dataclass(frozen=True)
class NodeRecord:
    __pydantic_config__ = DESCRIBED

    name: str
    pods: tuple[str, ...] = ()
    """Logical names (namespace/pod) of the test pods on this node."""


@dataclass(frozen=True)
class ClusterRecord:
    __pydantic_config__ = DESCRIBED

    kind: str
    """kind, existing, local or simulated."""
    kubernetes_version: str = ""
    """The API server's version; empty when unknown."""
    context: str = ""
    """The kubeconfig context, for existing clusters."""
    nodes: tuple[NodeRecord, ...] = ()

    @property
    def node_of(self) -> dict[str, str]:
        """Each test pod's node: logical name (namespace/pod) -> node name."""
        return {pod: n.name for n in self.nodes for pod in n.pods}


@dataclass(frozen=True)
class CniRecord:
    __pydantic_config__ = DESCRIBED

    name: str
    """The CNI profile the run used (--cni)."""
    enforces: bool
    """Whether the profile enforces NetworkPolicy."""
    deny_style: str
    """drop (a denied connection times out) or reject (it is refused)."""
    version: str = ""
    """Detected from the cluster (its DaemonSet's image tag); empty when not shown."""


@dataclass(frozen=True)
class TestRecord:
    """One pytest test of the run, whatever it checked."""

    __pydantic_config__ = DESCRIBED

    nodeid: str
    outcome: str
    """passed, failed, skipped, xfailed, xpassed or error."""
    duration: float = 0.0
    """Seconds."""
    scenario: str = ""
    message: str = ""
    """The failure, skip or xfail reason, shortened."""
    properties: Mapping[str, Any] = field(default_factory=dict)
    """The test's recorded properties."""


@dataclass(frozen=True)
class Summary:
    """Counts for a quick look (jq .summary); derived from steps, setup_errors and tests."""

    steps: int
    probes: int
    met: int
    not_met: int
    """Probes not as expected and not covered by an expected deviation."""
    deviations: int
    """Probes not as expected, covered by an expected deviation of the CNI."""
    setup_errors: int
    tests: dict[str, int]
    """Number of tests per outcome."""


Status = Literal["passed", "failed", "error", "interrupted", "incomplete"]


@dataclass(frozen=True)
class RunRecord:
    """One run of the netpol-conformance suite: the contents of its results file."""

    __pydantic_config__ = DESCRIBED

    suite_version: str
    """The netpol-conformance version that ran."""
    started: str
    """ISO 8601, UTC."""
    finished: str
    """ISO 8601, UTC."""
    status: Status
    """passed; failed (a test failed); error (the run could not run: see error); interrupted
    (Ctrl-C); incomplete (since 2.0: a worker died, see lost)."""
    options: Mapping[str, Any]
    """The run's options, as given: among them (since 2.0) the selection (pytest -m, -k and
    paths) and the options that weaken the verdict."""
    cluster: ClusterRecord
    cni: CniRecord
    steps: tuple[StepResult, ...] = ()
    setup_errors: ScenarioErrors = field(default_factory=dict)
    """Every scenario whose set-up failed, with its error."""
    tests: tuple[TestRecord, ...] = ()
    error: str = ""
    """Why the run could not run, when status is error."""
    upgrade: Annotated[UpgradeRecord | None, Field(exclude_if=lambda u: u is None)] = None
    """Since 1.2, only in the run after an upgrade made by upgrade-check: what the live probes,
    the held connections and the CNI did while it was upgraded."""
    lost: ScenarioErrors = field(default_factory=dict)
    """Since 2.0: every scenario that never finished because the worker running it died, with
    why (the run's status is then incomplete)."""
    inconsistent: Annotated[tuple[str, ...], Field(exclude=True)] = ()
    """Read back from a file: probes whose stored verdict its own observations contradict (the
    verdicts read are the observations', never the stored ones). Never written."""

    @computed_field
    @property
    def format(self) -> Literal["netpol-conformance/results"]:
        return FORMAT

    @computed_field(description="MAJOR.MINOR of this document's schema.")
    @property
    def schema_version(self) -> str:
        return SCHEMA_VERSION

    @computed_field
    @property
    def summary(self) -> Summary:
        probes = [p for s in self.steps for p in s.probes]
        counts = ProbeCounts.of(probes)
        return Summary(
            steps=len(self.steps),
            probes=len(probes),
            met=counts.met,
            not_met=counts.failed,
            deviations=counts.deviations,
            setup_errors=len(self.setup_errors),
            tests=dict(sorted(Counter(t.outcome for t in self.tests).items())),
        )
