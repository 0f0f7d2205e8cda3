"""What an upgrade check saw, as plain typed values: the timeline every report reads.

Times are seconds relative to the moment the upgrade command started (``epoch``, UTC), so
that probes, held connections and the CNI's own events share one axis. Nothing here talks to
a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from netpol_conformance.probe.outcome import Outcome

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

    start: float  # the first sample's time
    end: float  # the last sample's time
    category: Outcome
    samples: int


@dataclass(frozen=True)
class Window:
    """A stretch of time in which something was wrong: a disruption, a leak, a stall."""

    start: float
    end: float  # the first good sample after it; the last sample when it never ended
    samples: int  # how many samples saw it
    observed: str = ""  # what was seen: a category, or "no answer" for a held connection
    ended: bool = True  # False: still going on when probing stopped

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class LiveProbeRecord:
    """One probe of the live set, followed through the upgrade."""

    label: str  # the probe's label in the tutorial's logical names
    source: str
    target: str
    port: int
    protocol: str
    kind: str  # tcp or dns
    allowed: bool  # what the tutorial's policies say
    expected: Outcome  # what it must observe on this CNI
    role: str  # UP or DOWN
    gated: bool  # as expected before the upgrade; only such probes decide the verdict
    path: str = ""  # same-node, cross-node, external, dns
    samples: int = 0
    unobserved: int = 0  # samples that are no verdict (exec errors, negative DNS answers)
    segments: tuple[Segment, ...] = ()
    windows: tuple[Window, ...] = ()  # UP: disruptions; DOWN: leaks (consecutive ones joined)
    leaks: tuple[float, ...] = ()  # DOWN: the time of every sample that got through

    @property
    def longest(self) -> float:
        return max((w.seconds for w in self.windows), default=0.0)

    @property
    def shown_label(self) -> str:
        """The label, saying so when the probe does not decide the verdict."""
        return self.label if self.gated else f"{self.label} (not gated)"


@dataclass(frozen=True)
class HeldConnectionRecord:
    """One long-lived TCP connection opened before the upgrade, carrying a request every beat."""

    label: str  # source->target:port/TCP
    source: str
    target: str
    port: int
    opened: float  # its first answered request
    round_trips: int
    last: float | None  # its last answered request
    broken: bool  # closed, or silent at the end: it did not survive the upgrade
    reason: str = ""  # why it counts as broken
    stalls: tuple[Window, ...] = ()  # stretches with no answer longer than a beat allows
    path: str = ""

    @property
    def longest(self) -> float:
        return max((w.seconds for w in self.stalls), default=0.0)


@dataclass(frozen=True)
class AgentEvent:
    """Something the CNI did, on the same time axis: an agent stopped, a pod became Ready."""

    at: float
    agent: str  # kube-router, calico-node-x7k2p, simulated-agent
    event: str  # stopping, stopped, started, ready, rules-removed, created, deleted, ...
    origin: str  # where it was seen: "upgrade command", "DaemonSet kube-system/calico-node", ...


@dataclass(frozen=True)
class Limits:
    """The longest disruption the gate accepts, in seconds."""

    new: float  # for new connections (a probe's failing stretch)
    established: float  # for a held connection's stall


def signed(seconds: float) -> str:
    """``+1.25`` / ``-0.40``: a time relative to the upgrade's start, never ``-0.00``."""
    value = round(seconds, 2)
    return f"{value if value else 0.0:+.2f}"


@dataclass(frozen=True)
class UpgradeRecord:
    """The live part of an upgrade check: what happened while the CNI was upgraded."""

    epoch: str  # ISO 8601 UTC of t = 0: the upgrade command's start
    upgrade_command: str
    exit_code: int | None  # the upgrade command's; None: it did not finish (timeout)
    ready_check: str  # how readiness was decided: a command, a DaemonSet, a schedule
    ready: bool  # the CNI was Ready again before the deadline
    interval: float  # seconds between the starts of two probe rounds of one source pod
    settle: float  # seconds probed after the CNI was Ready again
    limits: Limits
    phases: Mapping[str, float] = field(default_factory=dict)
    probes: tuple[LiveProbeRecord, ...] = ()
    connections: tuple[HeldConnectionRecord, ...] = ()
    events: tuple[AgentEvent, ...] = ()
    cni_version_before: str = ""
    cni_version_after: str = ""
    notes: tuple[str, ...] = ()  # what else a reader must know (a failed command, a timeout)
    reasons: tuple[str, ...] = ()  # why the gate failed, with the suite's comparison; () passed
    command_outcome: str = ""  # "exit 0", "killed by SIGKILL", "timed out after 5 s (...)"

    @property
    def passed(self) -> bool:
        return not self.reasons

    @property
    def command_text(self) -> str:
        """What the upgrade command did, never "exit None" (files before 2.0 lack the text)."""
        if self.command_outcome:
            return self.command_outcome
        return "stopped at its timeout" if self.exit_code is None else f"exit {self.exit_code}"
