"""Polling a probe matrix until it converges: confirmation, time to enforce, flapping cells."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import pytest

from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.run.convergence import Convergence, confirm, converge

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
    assert state.flapping == ["b"]


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
    assert poll.calls >= 3  # probed on after the matching pair
    assert state.flapping == ["b"]
    assert not state.met("b") and state.met("a")
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
