"""Changes programmed in any order: which verdicts a probe may pass through on its way."""

from __future__ import annotations

from itertools import permutations

from hypothesis import given
from hypothesis import strategies as st

from netpol_conformance.run.convergence import first_unexplained
from netpol_conformance.run.orderings import possible_states

# A state is a frozenset of switched-on facts; a probe is allowed when its rule says so.
State = frozenset[str]


def switch_on(fact: str):
    return lambda s: s | {fact}


def switch_off(fact: str):
    return lambda s: s - {fact}


def rules(state: State) -> dict[str, bool]:
    """Three probes: open unless 'deny' is on and 'allow' off; open when 'label' is on;
    never affected."""
    return {
        "guarded": "allow" in state or "deny" not in state,
        "labelled": "label" in state,
        "untouched": True,
    }


def test_a_probe_no_subset_changes_keeps_its_verdict() -> None:
    states = possible_states(frozenset(), [switch_on("deny"), switch_on("allow")], rules)
    assert len(states) == 3
    assert [s["untouched"] for s in states] == [True, True, True]
    assert [s["labelled"] for s in states] == [False, False, False]


def test_a_probe_closed_by_an_order_not_made_alternates() -> None:
    # Made in the order allow, deny: in that order the guarded probe never closes; programmed
    # deny first, it closes for a moment. Both orders must be explained.
    states = possible_states(frozenset(), [switch_on("allow"), switch_on("deny")], rules)
    assert [s["guarded"] for s in states] == [True, False, True]


def test_the_start_state_comes_first() -> None:
    start = frozenset({"label"})
    states = possible_states(start, [switch_off("label")], rules)
    assert states[0] == rules(start)
    assert [s["labelled"] for s in states] == [True, False]


facts = st.sampled_from(["deny", "allow", "label"])
changes = st.lists(st.tuples(st.booleans(), facts), min_size=1, max_size=5)


@given(st.frozensets(facts), changes)
def test_every_order_of_programming_is_explained(start: State, made: list[tuple[bool, str]]):
    """Whatever order the enforcer programs the changes in, the verdicts each probe shows on
    the way (and then the final one) are a walk the judge accepts."""
    fns = [switch_on(f) if on else switch_off(f) for on, f in made]
    states = possible_states(start, fns, rules)
    final = start
    for fn in fns:
        final = fn(final)
    for order in permutations(range(len(fns))):
        state, seen = start, [rules(start)]
        applied: set[int] = set()
        for i in order:
            applied.add(i)
            state = start
            for j in sorted(applied):  # a later change of the same fact wins, as made
                state = fns[j](state)
            seen.append(rules(state))
        for probe in rules(start):
            history = ["allow" if s[probe] else "deny" for s in seen]
            path = ["allow" if s[probe] else "deny" for s in states]
            end = "allow" if rules(final)[probe] else "deny"
            assert first_unexplained(history, end, path) is None, (order, probe, history, path)
