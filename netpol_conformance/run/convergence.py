"""Poll a probe matrix until it matches its expectations, confirm it, and judge each cell's
history for flapping.

Enforcement takes time after a change. We poll the whole matrix (bounded by a deadline) until
every cell meets its expectation in two consecutive polls. A cell is never retried on its own
into the answer we want: a matrix either converges as a whole, or the report shows every poll.

A matrix whose unmet cells all observe what the CNI is known to observe there (its listed
expected deviations) is held there by the CNI, not on its way: once every poll of a settling
window (``settled_for`` seconds, at least ``SETTLE_POLLS`` polls) showed only met or known
cells, polling stops without waiting for the deadline. The matrix has not converged; its
verdict is the same as at the deadline, reached sooner.

Then the matrix is confirmed: polled on from the end of convergence for at least
``CONFIRM_POLLS`` more polls and until the confirmation window has passed. Real polls take a
second or two, so a window counted from the first matching poll would already be over by the
time the second one ends.

Last, every cell's history is judged as a whole. A cell may change its verdict (allowed or
denied; a refusal and a timeout are both a deny) only as the cluster walks, in order, through
the states the change passes through: from the verdict observed before the change, through the
states of each object applied or deleted in turn (the API has no transaction, so an allow
policy may be in force a moment before its sibling), to the new state. Once the matrix has
converged, every cell must keep the new verdict. A history that no such walk explains (a cell
that met its expectation and then fell back, or a cell that opened for a moment and closed
again) is flapping, whenever it happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from tenacity import Retrying, retry_if_result, stop_after_attempt, stop_after_delay, wait_fixed

from netpol_conformance.probe.outcome import Observation, verdict_of

K = TypeVar("K", bound=Hashable)

CONFIRM_POLLS = 3  # the fewest polls of a confirmation, however short its window
SETTLE_POLLS = 2 + CONFIRM_POLLS  # the fewest polls that show a matrix settled on deviations


def first_unexplained(
    history: Sequence[str | None],
    final: str,
    path: Sequence[str] | None = None,
    pinned_from: int | None = None,
) -> int | None:
    """The index of the first verdict of ``history`` that the change cannot explain, or None.

    ``path`` is the verdict of each state the change passes through, before it first; the
    ``final`` verdict is the state after it. ``history`` may follow them only in order.
    Without a ``path`` (nothing is known of the state before), anything goes until the matrix
    converged. From ``pinned_from`` (the first poll of the converged pair) on, only ``final``.
    ``None`` entries (no verdict: an exec error, an unreachable network) are skipped.
    """
    walk = [*(path or ()), final]
    at = 0
    for i, verdict in enumerate(history):
        if verdict is None:
            continue
        if pinned_from is not None and i >= pinned_from:
            if verdict != final:
                return i
            continue
        if path is None:
            continue
        step = next((j for j in range(at, len(walk)) if walk[j] == verdict), None)
        if step is None:
            return i
        at = step
    return None


@dataclass
class Convergence(Generic[K]):
    polls: list[Mapping[K, Observation]] = field(default_factory=list)
    verdicts: list[Mapping[K, bool]] = field(default_factory=list)  # cell met its expectation
    converged: bool = False
    started: float = 0.0
    matched_at: float | None = None  # start of the first poll of the confirmed pair
    poll_started: list[float] = field(default_factory=list)
    match_index: int | None = None  # index of the first poll of the confirmed pair
    converged_at: float | None = None  # end of the second poll of the confirmed pair
    confirm_index: int | None = None  # index of the first poll of the confirmation
    flapped: dict[K, int] = field(default_factory=dict)  # cell -> first unexplained poll
    # Polling stopped before the deadline: every unmet cell held a known deviation throughout.
    settled_on_known: bool = False

    @property
    def time_to_enforce(self) -> float | None:
        return None if self.matched_at is None else self.matched_at - self.started

    @property
    def poll_times(self) -> tuple[float, ...]:
        """Seconds from the change to the start of each poll."""
        return tuple(t - self.started for t in self.poll_started)

    @property
    def last(self) -> Mapping[K, Observation]:
        return self.polls[-1] if self.polls else {}

    def met(self, key: K) -> bool:
        """Not flapping, and meeting its expectation in the last poll, or, once the matrix
        converged, in every poll since."""
        if key in self.flapped or not self.verdicts:
            return False
        since = self.match_index if self.match_index is not None else len(self.verdicts) - 1
        return all(v.get(key) for v in self.verdicts[since:])

    def met_since(self, key: K) -> int | None:
        """The first poll of the run of polls, up to the last, in which the cell met its
        expectation; None when the last did not."""
        since = None
        for i in range(len(self.verdicts) - 1, -1, -1):
            if not self.verdicts[i].get(key):
                break
            since = i
        return since

    def deciding(self, key: K) -> int | None:
        """The poll that decided the cell's verdict: where it flapped, the first poll since
        convergence that did not meet its expectation, or else the last."""
        if key in self.flapped:
            return self.flapped[key]
        if self.match_index is not None:
            for i in range(self.match_index, len(self.verdicts)):
                if not self.verdicts[i].get(key):
                    return i
        return len(self.polls) - 1 if self.polls else None

    def history(self, key: K) -> list[Observation]:
        return [p[key] for p in self.polls if key in p]

    @property
    def flapping(self) -> list[K]:
        return [k for k in self.polls[-1] if k in self.flapped] if self.polls else []

    def judge_histories(
        self, final: Mapping[K, str], paths: Mapping[K, Sequence[str]] | None
    ) -> None:
        """Mark every cell whose history the change cannot explain (see the module)."""
        for key, verdict in final.items():
            history = [verdict_of(p[key].outcome) if key in p else None for p in self.polls]
            path = None if paths is None else paths.get(key)
            where = first_unexplained(history, verdict, path, self.match_index)
            if where is not None:
                self.flapped[key] = where


def converge(
    poll: Callable[[], Mapping[K, Observation]],
    judge: Callable[[Mapping[K, Observation]], Mapping[K, bool]],
    timeout: float,
    interval: float = 1.0,
    started: float | None = None,
    on_poll: Callable[[Convergence[K]], None] | None = None,
    known: Callable[[K, Observation], bool] | None = None,
    settled_for: float = 0.0,
) -> Convergence[K]:
    """Poll until two consecutive polls meet every expectation, or until ``timeout``; with
    ``known`` (a cell's observation is a listed deviation of the CNI) and ``settled_for``, also
    stop, unconverged, once the matrix has settled on known deviations (see the module)."""
    state: Convergence[K] = Convergence(started=time.monotonic() if started is None else started)
    settled_since: float | None = None  # start of the first poll of the current settled run
    settled_polls = 0

    def settled(observed: Mapping[K, Observation], verdict: Mapping[K, bool]) -> bool:
        return known is not None and all(
            ok or known(key, observed[key]) for key, ok in verdict.items()
        )

    def attempt() -> bool:
        nonlocal settled_since, settled_polls
        state.poll_started.append(time.monotonic())
        observed = poll()
        verdict = judge(observed)
        state.polls.append(observed)
        state.verdicts.append(verdict)
        if on_poll:
            on_poll(state)
        confirmed = len(state.verdicts) >= 2 and all(state.verdicts[-2].values())
        if all(verdict.values()) and confirmed:
            state.matched_at = state.poll_started[-2]
            state.match_index = len(state.polls) - 2
            state.converged_at = time.monotonic()
            return True
        if settled(observed, verdict):
            if settled_since is None:
                settled_since, settled_polls = state.poll_started[-1], 0
            settled_polls += 1
            if settled_polls >= SETTLE_POLLS and time.monotonic() - settled_since >= settled_for:
                state.settled_on_known = True
        else:
            settled_since = None
        return False

    retrying = Retrying(
        # Always allow the confirming poll, even with a deadline shorter than two polls.
        stop=stop_after_delay(max(timeout, 0.0)) & stop_after_attempt(2),
        wait=wait_fixed(interval),
        retry=retry_if_result(lambda done: not done and not state.settled_on_known),
        retry_error_callback=lambda _: False,
    )
    state.converged = bool(retrying(attempt))
    return state


def confirm(
    state: Convergence[K],
    poll: Callable[[], Mapping[K, Observation]],
    judge: Callable[[Mapping[K, Observation]], Mapping[K, bool]],
    window: float,
    interval: float,
    polls: int = CONFIRM_POLLS,
) -> None:
    """Probe a converged matrix on: at least ``polls`` more polls, until ``window`` seconds
    have passed since it converged (the end of its second matching poll)."""
    if not state.converged or state.converged_at is None:
        return
    state.confirm_index = len(state.polls)
    done = 0
    while done < polls or time.monotonic() - state.converged_at < window:
        time.sleep(interval)
        state.poll_started.append(time.monotonic())
        observed = poll()
        state.polls.append(observed)
        state.verdicts.append(judge(observed))
        done += 1
