"""Polling a probe matrix until it converges: confirmation, time to enforce, flapping cells."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netpol_conformance.probe.outcome import ALLOW, DENY, Observation, Outcome, verdict_of
from netpol_conformance.run.convergence import (
    CONFIRM_POLLS,
    SETTLE_POLLS,
    Convergence,
    confirm,
    converge,
    first_unexplained,
)

OK = Observation(Outcome.TIMEOUT)  # what the expectation wants: the deny holds
BAD = Observation(Outcome.CONNECTED)  # the deny is not (yet) enforced


class FakePoll:
    """Returns the matrices of ``script`` in turn (the last one forever); counts the calls."""

    def __init__(self, script: Sequence[Mapping[str, Observation]]) -> None:
        self.script = list(script)
        self.calls = 0

    def __call__(self) -> Mapping[str, Observation]:
        matrix = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        return matrix


def judge(observed: Mapping[str, Observation]) -> Mapping[str, bool]:
    return {k: o.outcome is Outcome.TIMEOUT for k, o in observed.items()}


def run(
    poll: Callable[[], Mapping[str, Observation]], timeout: float, interval: float = 0.0
) -> Convergence[str]:
    return converge(poll, judge, timeout=timeout, interval=interval)


def test_immediate_match_needs_exactly_two_polls() -> None:
    poll = FakePoll([{"a": OK, "b": OK}])
    state = run(poll, timeout=10)
    assert state.converged
    assert poll.calls == 2
    assert len(state.polls) == 2
    assert state.matched_at == state.poll_started[0]
    assert state.time_to_enforce is not None and state.time_to_enforce >= 0
    assert state.flapping == []


def test_confirming_poll_happens_even_with_a_zero_deadline() -> None:
    poll = FakePoll([{"a": OK}])
    state = run(poll, timeout=0)
    assert state.converged
    assert poll.calls == 2


def test_zero_deadline_never_matching_stops_after_two_polls() -> None:
    poll = FakePoll([{"a": BAD}])
    state = run(poll, timeout=0)
    assert not state.converged
    assert poll.calls == 2
    assert state.time_to_enforce is None


def test_matrix_that_flips_after_n_polls_reports_time_to_enforce() -> None:
    n, interval = 3, 0.02
    poll = FakePoll([{"a": OK, "b": BAD}] * n + [{"a": OK, "b": OK}])
    started = time.monotonic()
    state = converge(poll, judge, timeout=10, interval=interval, started=started)
    assert state.converged
    assert poll.calls == n + 2  # n bad polls, the first good one, its confirmation
    assert state.matched_at == state.poll_started[n]
    assert state.time_to_enforce is not None
    assert state.time_to_enforce == state.poll_started[n] - started
    assert state.time_to_enforce >= n * interval
    assert state.time_to_enforce < state.poll_started[n + 1] - started
    assert state.met("a") and state.met("b")
    assert [o.outcome for o in state.history("b")] == [Outcome.CONNECTED] * n + [
        Outcome.TIMEOUT
    ] * 2


def test_time_to_enforce_counts_from_the_apply() -> None:
    """``started`` is when the policy was applied, before the first poll."""
    started = time.monotonic() - 5.0
    state = converge(FakePoll([{"a": OK}]), judge, timeout=10, interval=0, started=started)
    assert state.time_to_enforce is not None and state.time_to_enforce >= 5.0


def test_cell_that_never_matches_times_out_and_shows_every_poll() -> None:
    poll = FakePoll([{"a": OK, "b": BAD}])
    t0 = time.monotonic()
    state = run(poll, timeout=0.3, interval=0.05)
    elapsed = time.monotonic() - t0
    assert not state.converged
    assert 0.3 <= elapsed < 2.0
    assert len(state.polls) == poll.calls >= 3
    assert not state.met("b") and state.met("a")
    assert state.flapping == []  # stable, just wrong


def test_flapping_cell_never_converges_and_is_listed() -> None:
    flip = [{"a": OK, "b": OK}, {"a": OK, "b": BAD}]
    calls = 0

    def poll() -> Mapping[str, Observation]:
        nonlocal calls
        calls += 1
        return flip[calls % 2]

    state = run(poll, timeout=0.3, interval=0.02)
    assert not state.converged
    assert calls >= 4
    # b was open before the change and must end denied: denied, then open again, is a flap
    state.judge_histories({"a": DENY, "b": DENY}, {"a": [ALLOW], "b": [ALLOW]})
    assert state.flapping == ["b"]
    assert not state.met("b")


def test_a_deny_is_never_retried_into_a_pass() -> None:
    """A cell that meets its expectation only every other poll is never confirmed.

    Each poll meets the expectation somewhere (a: even polls, b: odd polls), so a per-cell retry
    would call both cells passed; the whole matrix must match twice in a row instead.
    """
    script = [{"a": OK, "b": BAD}, {"a": BAD, "b": OK}]
    poll = FakePoll(script * 50)
    state = run(poll, timeout=0.3, interval=0.01)
    assert not state.converged
    assert state.time_to_enforce is None
    state.judge_histories({"a": DENY, "b": DENY}, {"a": [ALLOW], "b": [ALLOW]})
    assert sorted(state.flapping) == ["a", "b"]
    # Each cell did pass in some poll; none of them counts as met in the end.
    assert any(v["a"] for v in state.verdicts) and any(v["b"] for v in state.verdicts)
    assert not (state.met("a") and state.met("b"))


def test_every_other_poll_with_the_whole_matrix_good_never_converges() -> None:
    script = [{"a": OK}, {"a": BAD}]
    poll = FakePoll(script * 100)
    state = run(poll, timeout=0.2, interval=0.01)
    assert not state.converged
    assert sum(all(v.values()) for v in state.verdicts) >= 2  # good polls, never consecutive


def test_on_poll_sees_each_poll() -> None:
    seen: list[int] = []
    poll = FakePoll([{"a": BAD}, {"a": OK}])
    converge(poll, judge, timeout=5, interval=0, on_poll=lambda s: seen.append(len(s.polls)))
    assert seen == [1, 2, 3]


def test_poll_errors_propagate_instead_of_counting_as_a_result() -> None:
    def poll() -> Mapping[str, Observation]:
        raise RuntimeError("exec failed")

    with pytest.raises(RuntimeError, match="exec failed"):
        run(poll, timeout=1)


# --- the confirmation window after convergence -------------------------------------------------


def test_a_cell_that_deviates_in_the_window_is_flapping_and_not_met() -> None:
    poll = FakePoll(
        [{"a": OK, "b": OK}, {"a": OK, "b": OK}, {"a": OK, "b": BAD}, {"a": OK, "b": OK}]
    )
    state = run(poll, timeout=5)
    assert state.converged and state.met("b")
    confirm(state, poll, judge, window=0.05, interval=0.01)
    assert poll.calls >= 2 + CONFIRM_POLLS  # probed on after the matching pair
    assert not state.met("b") and state.met("a")  # a poll since convergence missed
    assert state.deciding("b") == 2 and state.deciding("a") == len(state.polls) - 1
    state.judge_histories({"a": DENY, "b": DENY}, None)
    assert state.flapping == ["b"]
    assert state.flapped == {"b": 2}
    assert state.time_to_enforce is not None  # it did converge; then it flapped


def test_a_stable_matrix_passes_the_window_and_it_lasts_as_long_as_asked() -> None:
    poll = FakePoll([{"a": OK}])
    state = run(poll, timeout=5)
    t0 = time.monotonic()
    confirm(state, poll, judge, window=0.2, interval=0.01)
    assert time.monotonic() - t0 >= 0.2 - (t0 - (state.matched_at or t0))
    assert state.flapping == [] and state.met("a")
    assert poll.calls > 2


def test_no_window_after_a_matrix_that_never_converged() -> None:
    poll = FakePoll([{"a": BAD}])
    state = run(poll, timeout=0)
    calls = poll.calls
    confirm(state, poll, judge, window=1.0, interval=0.01)
    assert poll.calls == calls and not state.met("a")


def test_the_confirmation_takes_three_polls_counted_from_the_end_of_convergence() -> None:
    """Slow polls: two matching polls already span the window from the first of them, yet
    the confirmation still polls three times more, after the pair ended."""
    slow = 0.05

    def poll() -> Mapping[str, Observation]:
        time.sleep(slow)
        return {"a": OK}

    state = run(poll, timeout=5)
    assert state.converged_at is not None and state.matched_at is not None
    assert state.converged_at - state.matched_at >= 2 * slow  # the pair took its time
    confirm(state, poll, judge, window=2 * slow, interval=0.0)
    assert state.confirm_index == 2
    assert len(state.polls) == 2 + CONFIRM_POLLS
    confirm_started = state.poll_started[state.confirm_index]
    assert confirm_started >= state.converged_at


def test_a_long_window_polls_on_until_it_has_passed_since_convergence() -> None:
    state = run(FakePoll([{"a": OK}]), timeout=5)
    t0 = time.monotonic()
    confirm(state, FakePoll([{"a": OK}]), judge, window=0.3, interval=0.02)
    assert state.converged_at is not None
    assert time.monotonic() - state.converged_at >= 0.3
    assert len(state.polls) - 2 > CONFIRM_POLLS  # more polls than the minimum
    assert time.monotonic() - t0 < 2


def test_refused_and_timeout_are_one_verdict() -> None:
    """A rejecting CNI's deny alternates between the two (the ICMP rate limit): not a flap."""
    assert verdict_of(Outcome.REFUSED) == verdict_of(Outcome.TIMEOUT) == DENY
    assert verdict_of(Outcome.DNS_FAIL) == DENY
    assert verdict_of(Outcome.CONNECTED) == verdict_of(Outcome.DNS_OK) == ALLOW
    for no_verdict in (Outcome.EXEC_ERROR, Outcome.UNREACHABLE, Outcome.DNS_NEGATIVE):
        assert verdict_of(no_verdict) is None
    history = [Observation(o) for o in (Outcome.REFUSED, Outcome.TIMEOUT, Outcome.REFUSED)]
    state = Convergence(polls=[{"a": o} for o in history], match_index=0)
    state.judge_histories({"a": DENY}, {"a": [DENY]})
    assert state.flapping == []


# --- histories that the change explains, and those it does not ---------------------------------

A, D = ALLOW, DENY


@pytest.mark.parametrize(
    ("history", "final", "path", "pinned", "broken"),
    [
        ([A, A, D, D, D], D, [A], 2, None),  # enforced after two polls: one change
        ([D, D, D], D, [D], 0, None),  # untouched by the change
        ([D, A, D, D], D, [D], 2, 1),  # opened for a moment: a leak
        ([A, D, D, A], D, [A], 1, 3),  # met, then fell back after convergence
        ([A, D, A, D, D], D, [A], 3, 2),  # met, then fell back before convergence
        ([A, D, A, A], A, [A, D], 2, None),  # an allow's sibling deny came first: in order
        ([A, A, D, A], A, [A, D], 3, None),  # the same, seen later
        ([D, A, D, A, A], A, [A, D], 3, 2),  # ... but never twice
        ([None, A, None, D, D], D, [A], 3, None),  # exec errors say nothing
        ([A, D, A, A], A, None, 2, None),  # nothing known before: free until converged
        ([A, D, A, A, D], A, None, 2, 4),  # ... but pinned after
        ([A, A, A], D, [A], None, None),  # never enforced: wrong, not flapping
    ],
)
def test_first_unexplained(
    history: list[str | None], final: str, path: list[str] | None, pinned: int | None, broken
) -> None:
    assert first_unexplained(history, final, path, pinned) == broken


@given(
    path=st.lists(st.sampled_from([A, D]), min_size=1, max_size=5),
    steps=st.lists(st.integers(0, 5), max_size=12),
    noise=st.lists(st.booleans(), max_size=12),
)
def test_any_walk_through_the_states_in_order_is_explained(
    path: list[str], steps: list[int], noise: list[bool]
) -> None:
    """Observations that follow the states in order (repeats allowed, unknowns anywhere), then
    the final state for good, never flap."""
    final = path[-1]
    walk = [*path, final]
    history: list[str | None] = [walk[min(i, len(walk) - 1)] for i in sorted(steps)]
    history += [final, final]  # the converged pair
    noise = (noise + [False] * len(history))[: len(history)]
    history = [None if n else v for v, n in zip(history, noise, strict=True)]
    pinned = len(history) - 2
    assert first_unexplained(history, final, path[:-1] or [final], pinned) is None


@given(
    path=st.lists(st.sampled_from([A, D]), min_size=1, max_size=4),
    before=st.lists(st.sampled_from([A, D]), max_size=6),
)
def test_leaving_the_new_state_after_convergence_always_flaps(
    path: list[str], before: list[str]
) -> None:
    final = path[-1]
    other = D if final == A else A
    history: list[str | None] = [*before, final, final, other]
    # whatever came before (nothing known of it), and whatever the change went through
    assert first_unexplained(history, final, None, len(before)) == len(history) - 1
    assert first_unexplained([*path, final, final, other], final, path, len(path)) == len(path) + 2


# --- a matrix held by the CNI's known deviations


def known_b_connected(key: str, seen: Observation) -> bool:
    """The CNI is known to let b connect (an expected deviation); nothing else is known."""
    return key == "b" and seen.outcome is Outcome.CONNECTED


def test_a_matrix_settled_on_known_deviations_stops_before_the_deadline() -> None:
    poll = FakePoll([{"a": OK, "b": BAD}])
    t0 = time.monotonic()
    state = converge(
        poll, judge, timeout=30, interval=0.01, known=known_b_connected, settled_for=0.1
    )
    assert time.monotonic() - t0 < 5.0  # not the 30 s deadline
    assert state.settled_on_known
    assert not state.converged and state.time_to_enforce is None
    assert poll.calls >= SETTLE_POLLS
    assert state.poll_started[-1] - state.poll_started[0] >= 0.1
    assert not state.met("b") and state.met("a")


def test_an_unknown_unmet_cell_waits_for_the_deadline() -> None:
    poll = FakePoll([{"a": BAD, "b": BAD}])  # a is unmet and no deviation covers it
    t0 = time.monotonic()
    state = converge(
        poll, judge, timeout=0.4, interval=0.01, known=known_b_connected, settled_for=0.05
    )
    assert time.monotonic() - t0 >= 0.4
    assert not state.settled_on_known and not state.converged


def test_the_settling_window_restarts_when_an_unknown_cell_shows() -> None:
    """Settled, then one poll with a cell no deviation explains: the window counts again from
    the next settled poll, so stopping needs SETTLE_POLLS settled polls after it."""
    settled = {"a": OK, "b": BAD}
    poll = FakePoll([settled] * 3 + [{"a": BAD, "b": BAD}] + [settled])
    state = converge(
        poll, judge, timeout=30, interval=0.0, known=known_b_connected, settled_for=0.0
    )
    assert state.settled_on_known
    assert poll.calls == 4 + SETTLE_POLLS


def test_a_matrix_that_meets_every_expectation_converges_whatever_is_known() -> None:
    poll = FakePoll([{"a": OK, "b": BAD}, {"a": OK, "b": OK}])
    state = converge(
        poll, judge, timeout=30, interval=0.0, known=known_b_connected, settled_for=10.0
    )
    assert state.converged and not state.settled_on_known
    assert poll.calls == 3
