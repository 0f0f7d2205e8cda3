"""What a batch of changes may show while an enforcer programs them, in any order.

Changes made one after another without waiting (policies deleted, labels restored, a policy
applied) reach an enforcer as separate events, and it may program them in another order than
they were made: a label restored before the policy that selected it is gone is a real state,
if a short one. A probe may therefore show, on its way to the new state, any verdict that some
subset of the changes gives it. With k changes it can change its verdict at most k times.

``possible_states`` turns that into the form the convergence judge reads (``run.convergence``):
k+1 states in order, where a probe that no subset changes keeps its verdict, and a probe that
some subset flips alternates between its verdict before and the other one.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from itertools import combinations
from typing import TypeVar

S = TypeVar("S")  # a state of the cluster, as the caller models it
K = TypeVar("K", bound=Hashable)

# Beyond this many changes, subsets are too many: only the orders as made (prefixes) and
# every change alone are tried.
MAX_EXHAUSTIVE = 10


def _subsets(k: int) -> list[tuple[int, ...]]:
    if k <= MAX_EXHAUSTIVE:
        return [c for n in range(k + 1) for c in combinations(range(k), n)]
    prefixes = [tuple(range(n)) for n in range(k + 1)]
    return prefixes + [(i,) for i in range(k)]


def possible_states(
    start: S,
    changes: Sequence[Callable[[S], S]],
    verdicts: Callable[[S], Mapping[K, bool]],
) -> list[dict[K, bool]]:
    """The k+1 states a probe may pass through while ``changes`` are programmed in any order,
    for every key ``verdicts(start)`` has."""
    before = dict(verdicts(start))
    flips: set[K] = set()
    for subset in _subsets(len(changes)):
        if not subset:
            continue
        state = start
        for i in subset:  # in the order made: a later change of the same object wins
            state = changes[i](state)
        flips |= {key for key, allowed in verdicts(state).items() if allowed != before.get(key)}
    return [
        {
            key: (not allowed if key in flips and i % 2 else allowed)
            for key, allowed in before.items()
        }
        for i in range(len(changes) + 1)
    ]
