"""From raw samples to the upgrade's timeline: disruptions, leaks, stalls. Pure computation.

Every time here is read as seconds since the Unix epoch on the way in and returned relative to
``t0`` (the upgrade command's start). A probe sample's time is the middle of the exec that
observed it, so a window is known to about one probe round either way.

- A probe that must get through (UP) is *disrupted* from its first sample that did not get
  through to the first sample after that did; a probe that must not (DOWN) *leaks* in every
  sample that got through, and consecutive leaks make one leak window. Samples that are no
  verdict (an exec error) neither open nor close a window.
- A held connection sends one request per beat (``interval``) and logs when each went and
  came back. A request answered more than one beat after it went is a *stall*, from its
  sending to its answer (the loop's own sleeping and scheduling are not the network's). The
  connection is *broken* when it was closed, when its process ended, or when a request was
  still unanswered after ``silent_after`` seconds when its log was read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from netpol_conformance.probe.outcome import THROUGH, Observation, Outcome
from netpol_conformance.results.upgrade import (
    DOWN,
    AgentEvent,
    HeldConnectionRecord,
    LiveProbeRecord,
    Segment,
    Window,
    signed,
)

# Neither good nor bad: the probe did not run as written, or no packet could go out (a
# protocol the node's kernel cannot carry).
UNOBSERVED = frozenset({Outcome.EXEC_ERROR, Outcome.UNSUPPORTED})
# What counts as getting through for a probe that must not: a DNS server that answered no
# was reached all the same.
LEAKED = THROUGH | {Outcome.DNS_NEGATIVE}


def sample_state(role: str, category: Outcome) -> str:
    """How one sample of a live probe reads: ``unknown`` (no verdict); for a probe that must
    not get through ``leak`` or ``held``; for one that must, ``ok`` or ``bad``."""
    if category in UNOBSERVED:
        return "unknown"
    if role == DOWN:
        return "leak" if category in LEAKED else "held"
    return "ok" if category in THROUGH else "bad"


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the epoch: the middle of the exec that observed it
    observation: Observation

    @property
    def category(self) -> Outcome:
        return self.observation.outcome


@dataclass(frozen=True)
class HeldLog:
    """What a held connection's log says (pod time or, once mapped, seconds since the epoch)."""

    round_trips: tuple[tuple[float, float], ...]  # (sent, answered) of every answered request
    closed_at: float | None = None  # it logged its own end (EOF, reset, write error)
    alive: bool = True  # its process still ran when the log was read
    error: str = ""  # what its process printed, when it did not start
    in_flight: float | None = None  # when the request still unanswered at the read was sent
    read_at: float | None = None  # when the log was read

    def shifted(self, offset: float, read_at: float | None = None) -> HeldLog:
        """The same log with every time moved by ``offset`` (pod time to the epoch)."""
        return HeldLog(
            tuple((s + offset, a + offset) for s, a in self.round_trips),
            None if self.closed_at is None else self.closed_at + offset,
            self.alive,
            self.error,
            None if self.in_flight is None else self.in_flight + offset,
            read_at,
        )


@dataclass(frozen=True)
class RawEvent:
    at: float  # seconds since the epoch
    agent: str
    event: str
    origin: str


def segments(samples: Sequence[Sample], t0: float) -> tuple[Segment, ...]:
    out: list[Segment] = []
    for s in samples:
        last = out[-1] if out else None
        if last is not None and last.category is s.category:
            out[-1] = Segment(last.start, s.at - t0, last.category, last.samples + 1)
        else:
            out.append(Segment(s.at - t0, s.at - t0, s.category, 1))
    return tuple(out)


def _windows(samples: Sequence[Sample], bad: Iterable[Outcome], t0: float) -> tuple[Window, ...]:
    """Maximal stretches of ``bad`` samples; unobserved samples are skipped over."""
    bad = frozenset(bad)
    out: list[Window] = []
    start: Sample | None = None
    seen: list[Outcome] = []
    for s in samples:
        if s.category in UNOBSERVED:
            continue
        if s.category in bad:
            if start is None:
                start, seen = s, []
            seen.append(s.category)
        elif start is not None:
            out.append(_window(start.at - t0, s.at - t0, seen, ended=True))
            start = None
    if start is not None:
        last = next(s for s in reversed(samples) if s.category not in UNOBSERVED)
        out.append(_window(start.at - t0, last.at - t0, seen, ended=False))
    return tuple(out)


def _window(start: float, end: float, seen: list[Outcome], ended: bool) -> Window:
    observed = ", ".join(c.value for c, _ in Counter(seen).most_common())
    return Window(start, end, len(seen), observed, ended)


def probe_record(
    label: str,
    *,
    source: str,
    target: str,
    port: int,
    protocol: str,
    kind: str,
    allowed: bool,
    expected: Outcome,
    role: str,
    gated: bool,
    path: str,
    samples: Sequence[Sample],
    t0: float,
    enforced_on: Sequence[str] = (),
) -> LiveProbeRecord:
    """One live probe's record from its samples, oldest first."""
    if role == DOWN:
        windows = _windows(samples, LEAKED, t0)
        leaks = tuple(s.at - t0 for s in samples if s.category in LEAKED)
    else:
        windows = _windows(samples, set(Outcome) - THROUGH - UNOBSERVED, t0)
        leaks = ()
    return LiveProbeRecord(
        label=label,
        source=source,
        target=target,
        port=port,
        protocol=protocol,
        kind=kind,
        allowed=allowed,
        expected=expected,
        role=role,
        gated=gated,
        path=path,
        samples=len(samples),
        unobserved=sum(1 for s in samples if s.category in UNOBSERVED),
        segments=segments(samples, t0),
        windows=windows,
        leaks=leaks,
        enforced_on=tuple(enforced_on) if role == DOWN else (),
    )


def held_record(
    label: str,
    *,
    source: str,
    target: str,
    port: int,
    path: str,
    log: HeldLog,
    interval: float,
    stopped: float,
    t0: float,
) -> HeldConnectionRecord:
    """A held connection's record; ``stopped`` is when probing stopped (epoch seconds), the
    log's own ``read_at`` when it has one.

    A request answered more than one beat after it was sent is a stall, from its sending to
    its answer. The connection broke when it logged its end, when its process ended, or when
    a request was still unanswered at the read after ``silent_after(interval)`` seconds.
    """
    stopped = log.read_at if log.read_at is not None else stopped
    if not log.round_trips:
        why = log.error or "it never answered a request"
        return HeldConnectionRecord(
            label, source, target, port, stopped - t0, 0, None, True, why, (), path
        )
    stalls = [
        Window(sent - t0, answered - t0, 1, "no answer")
        for sent, answered in log.round_trips
        if answered - sent > interval
    ]
    reason = ""
    if log.closed_at is not None:
        reason = f"closed at {signed(log.closed_at - t0)} s (end of stream, reset or write error)"
    elif not log.alive:
        reason = "its process ended without closing it"
    if log.in_flight is not None and stopped - log.in_flight > interval:
        stalls.append(Window(log.in_flight - t0, stopped - t0, 1, "no answer", ended=False))
        if stopped - log.in_flight > silent_after(interval):
            reason = reason or (
                f"no answer to the request sent at {signed(log.in_flight - t0)} s "
                f"({stopped - log.in_flight:.1f} s before its log was read)"
            )
    return HeldConnectionRecord(
        label=label,
        source=source,
        target=target,
        port=port,
        opened=log.round_trips[0][0] - t0,
        round_trips=len(log.round_trips),
        last=log.round_trips[-1][1] - t0,
        broken=bool(reason),
        reason=reason,
        stalls=tuple(stalls),
        path=path,
    )


def silent_after(interval: float) -> float:
    """Seconds a request may stay unanswered at the end before the connection counts as gone."""
    return max(2.0, 4 * interval)


def agent_events(events: Iterable[RawEvent], t0: float) -> tuple[AgentEvent, ...]:
    return tuple(
        AgentEvent(e.at - t0, e.agent, e.event, e.origin)
        for e in sorted(events, key=lambda e: e.at)
    )
