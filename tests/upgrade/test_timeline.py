"""The timeline from samples: disruption windows, leaks, held connections' stalls and breaks."""

from __future__ import annotations

import pytest

from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.results.upgrade import DOWN, UP
from netpol_conformance.upgrade.timeline import (
    HeldLog,
    RawEvent,
    Sample,
    agent_events,
    held_record,
    probe_record,
    sample_state,
    segments,
)

T0 = 1_000.0
C, T, R, E = Outcome.CONNECTED, Outcome.TIMEOUT, Outcome.REFUSED, Outcome.EXEC_ERROR


def samples(*pairs: tuple[float, Outcome]) -> list[Sample]:
    return [Sample(T0 + t, Observation(o)) for t, o in pairs]


def record(role: str, *pairs: tuple[float, Outcome]):  # type: ignore[no-untyped-def]
    return probe_record(
        "a/b->c/d:80/TCP",
        source="a/b",
        target="c/d",
        port=80,
        protocol="TCP",
        kind="tcp",
        allowed=role == UP,
        expected=C if role == UP else R,
        role=role,
        gated=True,
        path="same-node",
        samples=samples(*pairs),
        t0=T0,
    )


def test_a_disruption_runs_from_the_first_failing_sample_to_the_next_good_one() -> None:
    r = record(UP, (-1, C), (-0.5, C), (0.0, T), (0.5, T), (1.0, C), (1.5, C))
    assert [(w.start, w.end, w.samples, w.ended) for w in r.windows] == [(0.0, 1.0, 2, True)]
    assert r.longest == pytest.approx(1.0)
    assert r.windows[0].observed == "timeout"
    assert r.leaks == ()


def test_exec_errors_neither_open_nor_close_a_disruption() -> None:
    r = record(UP, (0, C), (1, E), (2, T), (3, E), (4, T), (5, C))
    assert [(w.start, w.end, w.samples) for w in r.windows] == [(2.0, 5.0, 2)]
    assert r.unobserved == 2
    assert record(UP, (0, C), (1, E), (2, C)).windows == ()


def test_a_disruption_still_going_at_the_end_is_not_over() -> None:
    r = record(UP, (0, C), (1, R), (2, T), (3, E))
    (w,) = r.windows
    assert (w.start, w.end, w.ended, w.samples) == (1.0, 2.0, False, 2)
    assert w.observed in ("refused, timeout", "timeout, refused")


def test_every_leak_of_a_denied_probe_is_kept_with_its_time() -> None:
    r = record(DOWN, (-1, R), (0.25, C), (0.75, C), (1.25, R), (1.75, C), (2.25, R))
    assert r.leaks == (0.25, 0.75, 1.75)
    assert [(w.start, w.end, w.samples) for w in r.windows] == [(0.25, 1.25, 2), (1.75, 2.25, 1)]


def test_a_denied_probe_that_only_changed_its_deny_style_did_not_leak() -> None:
    r = record(DOWN, (0, R), (1, T), (2, R))
    assert r.leaks == () and r.windows == ()
    assert [(s.category, s.samples) for s in r.segments] == [(R, 1), (T, 1), (R, 1)]


def test_segments_join_consecutive_samples_of_one_category() -> None:
    got = segments(samples((0, C), (1, C), (2, T), (3, C)), T0)
    assert [(s.start, s.end, s.category, s.samples) for s in got] == [
        (0.0, 1.0, C, 2),
        (2.0, 2.0, T, 1),
        (3.0, 3.0, C, 1),
    ]


def held(log: HeldLog, stopped: float = 10.0, interval: float = 0.5):  # type: ignore[no-untyped-def]
    return held_record(
        "a/b->c/d:80/TCP",
        source="a/b",
        target="c/d",
        port=80,
        path="cross-node",
        log=log,
        interval=interval,
        stopped=T0 + stopped,
        t0=T0,
    )


def trips(*times: float, rtt: float = 0.01) -> tuple[tuple[float, float], ...]:
    return tuple((T0 + t, T0 + t + rtt) for t in times)


def test_a_held_connection_answering_every_beat_survived() -> None:
    c = held(HeldLog(trips(*(i * 0.5 for i in range(-4, 20)))))
    assert not c.broken and c.stalls == () and c.round_trips == 24
    assert (c.opened, c.last) == (-2.0, pytest.approx(9.51))


def test_a_request_answered_more_than_a_beat_later_is_a_stall_from_its_sending() -> None:
    slow = ((T0 + 1.0, T0 + 4.0), (T0 + 4.5, T0 + 5.1))
    c = held(HeldLog((*trips(0.0, 0.5), *slow, *trips(5.6, 6.1))))
    assert not c.broken
    assert [(w.start, w.end) for w in c.stalls] == [(1.0, 4.0), (4.5, pytest.approx(5.1))]
    assert c.longest == pytest.approx(3.0)


def test_slow_loops_are_not_stalls_of_the_network() -> None:
    c = held(HeldLog(trips(0.0, 2.0, 5.0, 9.9)))  # far apart, each answered at once
    assert c.stalls == () and not c.broken


def test_a_held_connection_that_closed_is_broken_and_says_when() -> None:
    c = held(HeldLog(trips(0.0, 0.5, 1.0), closed_at=T0 + 1.2, alive=False))
    assert c.broken and "closed at +1.20 s" in c.reason


def test_a_request_unanswered_at_the_end_is_a_stall_and_after_a_while_a_break() -> None:
    c = held(HeldLog(trips(0.0, 0.5, 1.0), in_flight=T0 + 1.5, read_at=T0 + 6.0))
    assert c.broken and c.reason == (
        "no answer to the request sent at +1.50 s (4.5 s before its log was read)"
    )
    assert [(w.start, w.end, w.ended) for w in c.stalls] == [(1.5, 6.0, False)]
    just_sent = held(HeldLog(trips(0.0, 0.5), in_flight=T0 + 1.0, read_at=T0 + 1.2))
    assert not just_sent.broken and just_sent.stalls == ()


def test_a_held_connection_that_never_answered_says_why() -> None:
    c = held(HeldLog((), alive=False, error="socat: Connection refused"))
    assert c.broken and c.reason == "socat: Connection refused" and c.round_trips == 0


def test_events_are_sorted_on_the_time_axis() -> None:
    events = agent_events(
        [RawEvent(T0 + 2, "kr", "ready", "x"), RawEvent(T0 - 1, "kr", "stopping", "x")], T0
    )
    assert [(e.at, e.event) for e in events] == [(-1.0, "stopping"), (2.0, "ready")]


def test_a_sample_reads_by_the_probes_role() -> None:
    assert [sample_state(DOWN, o) for o in (C, Outcome.DNS_NEGATIVE, T, R, E)] == [
        "leak", "leak", "held", "held", "unknown",
    ]  # fmt: skip
    assert [sample_state(UP, o) for o in (C, Outcome.DNS_OK, T, R, E)] == [
        "ok", "ok", "bad", "bad", "unknown",
    ]  # fmt: skip
