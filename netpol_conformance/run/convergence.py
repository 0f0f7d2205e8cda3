"""Poll a probe matrix until it matches its expectations, then watch it for a while.

Enforcement takes time after an apply. We poll the whole matrix (bounded by a deadline) until
every cell meets its expectation in two consecutive polls. A cell is never retried on its own
into the answer we want: a matrix either converges as a whole, or the report shows every poll.
Then the matrix is probed on until a confirmation window has passed since the first matching
poll: a cell that deviates in that window fails as flapping (enforcement that comes and goes
would otherwise pass on two lucky polls).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from tenacity import Retrying, retry_if_result, stop_after_attempt, stop_after_delay, wait_fixed

from netpol_conformance.probe.outcome import Observation

K = TypeVar("K", bound=Hashable)


@dataclass
class Convergence(Generic[K]):
    polls: list[Mapping[K, Observation]] = field(default_factory=list)
    verdicts: list[Mapping[K, bool]] = field(default_factory=list)  # cell met its expectation
    converged: bool = False
    started: float = 0.0
    matched_at: float | None = None  # start of the first poll of the confirmed pair
    poll_started: list[float] = field(default_factory=list)
    match_index: int | None = None  # index of the first poll of the confirmed pair
    flapped: set[K] = field(default_factory=set)  # deviated after the matrix had converged

    @property
    def time_to_enforce(self) -> float | None:
        return None if self.matched_at is None else self.matched_at - self.started

    @property
    def last(self) -> Mapping[K, Observation]:
        return self.polls[-1] if self.polls else {}

    def met(self, key: K) -> bool:
        return bool(self.verdicts and self.verdicts[-1].get(key)) and key not in self.flapped

    def history(self, key: K) -> list[Observation]:
        return [p[key] for p in self.polls if key in p]

    @property
    def flapping(self) -> list[K]:
        """Cells that deviated after convergence; before it, those whose outcome changed
        across the last few polls."""
        if self.match_index is not None:
            return [k for k in self.polls[-1] if k in self.flapped]
        recent = self.polls[-4:]
        keys = recent[-1].keys() if recent else []
        return [k for k in keys if len({p[k].outcome for p in recent if k in p}) > 1]


def converge(
    poll: Callable[[], Mapping[K, Observation]],
    judge: Callable[[Mapping[K, Observation]], Mapping[K, bool]],
    timeout: float,
    interval: float = 1.0,
    started: float | None = None,
    on_poll: Callable[[Convergence[K]], None] | None = None,
) -> Convergence[K]:
    """Poll until two consecutive polls meet every expectation, or until ``timeout``."""
    state: Convergence[K] = Convergence(started=time.monotonic() if started is None else started)

    def attempt() -> bool:
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
            return True
        return False

    retrying = Retrying(
        # Always allow the confirming poll, even with a deadline shorter than two polls.
        stop=stop_after_delay(max(timeout, 0.0)) & stop_after_attempt(2),
        wait=wait_fixed(interval),
        retry=retry_if_result(lambda done: not done),
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
) -> None:
    """Probe a converged matrix until ``window`` seconds have passed since its first matching
    poll; every cell that fails in any of those polls is marked as flapping."""
    if not state.converged or state.matched_at is None:
        return
    while time.monotonic() - state.matched_at < window:
        time.sleep(interval)
        state.poll_started.append(time.monotonic())
        observed = poll()
        verdict = judge(observed)
        state.polls.append(observed)
        state.verdicts.append(verdict)
        state.flapped.update(k for k, ok in verdict.items() if not ok)
