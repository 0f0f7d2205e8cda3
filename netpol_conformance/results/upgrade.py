"""What an upgrade check saw, as plain typed values: the timeline every report reads.

Times are seconds relative to the moment the upgrade command started (``epoch``, UTC), so
that probes, held connections and the CNI's own events share one axis. Nothing here talks to
a cluster. Written, like the run's records, by pydantic from these classes: times rounded to
the millisecond.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import ConfigDict, Field, computed_field

from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.results.fields import KindName, Seconds

DESCRIBED = ConfigDict(use_attribute_docstrings=True)

# The role of a live probe: "up" must keep getting through, "down" must never get through.
UP = "up"
DOWN = "down"

# Phases of the live part, as keys of ``UpgradeRecord.phases`` (seconds on the time axis).
PROBING_STARTED = "probing-started"
UPGRADE_STARTED = "upgrade-started"  # always 0.0: the time axis starts here
UPGRADE_FINISHED = "upgrade-finished"
CNI_READY = "cni-ready"
PROBING_STOPPED = "probing-stopped"


@dataclass(frozen=True)
class Segment:
    """Consecutive samples of one probe that observed the same category."""

    __pydantic_config__ = DESCRIBED

    start: Seconds
    """The first sample's time."""
    end: Seconds
    """The last sample's time."""
    category: Outcome
    samples: int


@dataclass(frozen=True)
class Window:
    """A stretch of time in which something was wrong: a disruption, a leak, a stall."""

    __pydantic_config__ = DESCRIBED

    start: Seconds
    end: Seconds
    """The first good sample after it; the last sample when it never ended."""
    samples: int
    """How many samples saw it."""
    observed: str = ""
    """What was seen: a category, or "no answer" for a held connection."""
    ended: bool = True
    """false: still going on when probing stopped."""

    @computed_field
    @property
    def seconds(self) -> Seconds:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class LiveProbeRecord:
    """One probe of the live set, followed through the upgrade."""

    __pydantic_config__ = DESCRIBED

    label: str
    """The probe's label in the tutorial's logical names."""
    source: Annotated[str, Field(alias="from")]
    """Source pod, logical name (namespace/pod)."""
    target: Annotated[str, Field(alias="to")]
    """Destination: a pod's logical name, or dns."""
    port: int
    protocol: str
    kind: KindName
    allowed: bool
    """What the tutorial's policies say."""
    expected: Outcome
    """What it must observe on this CNI."""
    role: str
    """up: must keep getting through; down: must never get through."""
    gated: bool
    """As expected before the upgrade; only such probes decide the verdict."""
    path: str = ""
    """same-node, cross-node, external, dns."""
    samples: int = 0
    unobserved: int = 0
    """Samples that are no verdict (exec errors, negative DNS answers)."""
    segments: tuple[Segment, ...] = ()
    windows: tuple[Window, ...] = ()
    """up: disruptions; down: leaks (consecutive ones joined)."""
    leaks: tuple[Seconds, ...] = ()
    """down: the time of every sample that got through."""
    enforced_on: tuple[str, ...] = ()
    """down: the nodes whose enforcers deny it (the source's for egress, the destination's for
    ingress); empty when not known (since 2.3)."""

    @computed_field
    @property
    def longest(self) -> Seconds:
        return max((w.seconds for w in self.windows), default=0.0)

    @property
    def shown_label(self) -> str:
        """The label, saying so when the probe does not decide the verdict."""
        return self.label if self.gated else f"{self.label} (not gated)"

    @property
    def shown_enforcers(self) -> str:
        return ", ".join(self.enforced_on) or "?"


@dataclass(frozen=True)
class HeldConnectionRecord:
    """One long-lived TCP connection opened before the upgrade, carrying a request every beat."""

    __pydantic_config__ = DESCRIBED

    label: str
    """source->target:port/TCP."""
    source: Annotated[str, Field(alias="from")]
    """Source pod, logical name (namespace/pod)."""
    target: Annotated[str, Field(alias="to")]
    """Destination: a pod's logical name, or dns."""
    port: int
    opened: Seconds
    """Its first answered request."""
    round_trips: int
    last: Seconds | None
    """Its last answered request."""
    broken: bool
    """Closed, or silent at the end: it did not survive the upgrade."""
    reason: str = ""
    """Why it counts as broken."""
    stalls: tuple[Window, ...] = ()
    """Stretches with no answer longer than a beat allows."""
    path: str = ""
    """same-node or cross-node."""

    @computed_field
    @property
    def longest(self) -> Seconds:
        return max((w.seconds for w in self.stalls), default=0.0)


@dataclass(frozen=True)
class AgentEvent:
    """Something the CNI did, on the same time axis: an agent stopped, a pod became Ready."""

    __pydantic_config__ = DESCRIBED

    at: Seconds
    agent: str
    """kube-router, calico-node-x7k2p, simulated-agent, ..."""
    event: str
    """stopping, stopped, started, ready, rules-removed, created, deleted, ..."""
    origin: str
    """Where it was seen: upgrade command, DaemonSet kube-system/calico-node, ..."""


@dataclass(frozen=True)
class Limits:
    """The longest disruption the gate accepts, in seconds."""

    __pydantic_config__ = DESCRIBED

    new: float
    """For new connections (a probe's failing stretch)."""
    established: float
    """For a held connection's stall."""


def signed(seconds: float) -> str:
    """``+1.25`` / ``-0.40``: a time relative to the upgrade's start, never ``-0.00``."""
    value = round(seconds, 2)
    return f"{value if value else 0.0:+.2f}"


@dataclass(frozen=True)
class UpgradeRecord:
    """The live part of an upgrade check: what happened while the CNI was upgraded."""

    __pydantic_config__ = DESCRIBED

    epoch: str
    """ISO 8601 UTC of t = 0: the upgrade command's start."""
    upgrade_command: str
    exit_code: int | None
    """The upgrade command's; null: it did not finish (timeout)."""
    ready_check: str
    """How readiness was decided: a command, a DaemonSet, a schedule."""
    ready: bool
    """The CNI was Ready again before the deadline."""
    interval: float
    """Seconds between the starts of two probe rounds of one source pod."""
    settle: float
    """Seconds probed after the CNI was Ready again."""
    limits: Limits
    phases: Mapping[str, Seconds] = field(default_factory=dict)
    """Times on the axis: probing-started, upgrade-started (0), upgrade-finished, cni-ready,
    probing-stopped."""
    probes: tuple[LiveProbeRecord, ...] = ()
    connections: tuple[HeldConnectionRecord, ...] = ()
    events: tuple[AgentEvent, ...] = ()
    cni_version_before: str = ""
    cni_version_after: str = ""
    notes: tuple[str, ...] = ()
    """What else a reader must know (a failed command, a timeout)."""
    reasons: tuple[str, ...] = ()
    """Why the gate failed, with the suite's comparison; empty: it passed."""
    command_outcome: str = ""
    """exit 0, killed by SIGKILL, timed out after 5 s (...) (since 2.0)."""

    @computed_field
    @property
    def passed(self) -> bool:
        return not self.reasons

    @property
    def command_text(self) -> str:
        """What the upgrade command did, never "exit None" (files before 2.0 lack the text)."""
        if self.command_outcome:
            return self.command_outcome
        return "stopped at its timeout" if self.exit_code is None else f"exit {self.exit_code}"

    @property
    def several_enforcers(self) -> bool:
        """Whether the denied live probes are enforced on more than one node: then a leak's
        nodes tell a node that was switched off early from one that was not yet."""
        return len({n for p in self.probes for n in p.enforced_on}) > 1
