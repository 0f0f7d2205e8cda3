"""The states a change passes through: objects applied and deleted one at a time."""

from __future__ import annotations

from typing import Any

from netpol_conformance.run.transitions import states_applying, states_deleting


def policy(name: str, namespace: str = "backend", version: int = 1) -> dict[str, Any]:
    return {
        "kind": "NetworkPolicy",
        "metadata": {"namespace": namespace, "name": name},
        "v": version,
    }


def names(states: list[list[Any]]) -> list[list[tuple[str, int]]]:
    return [[(d["metadata"]["name"], d["v"]) for d in s] for s in states]


def test_applying_passes_through_every_prefix_but_the_last() -> None:
    before = [policy("deny")]
    docs = [policy("allow-a"), policy("allow-b"), policy("allow-c")]
    assert names(states_applying(before, docs)) == [
        [("deny", 1)],
        [("deny", 1), ("allow-a", 1)],
        [("deny", 1), ("allow-a", 1), ("allow-b", 1)],
    ]


def test_a_policy_of_the_same_name_replaces_the_one_in_force() -> None:
    before = [policy("allow", version=1), policy("deny")]
    states = states_applying(before, [policy("allow", version=2), policy("other")])
    assert names(states) == [[("allow", 1), ("deny", 1)], [("allow", 2), ("deny", 1)]]
    # the same name in another namespace is another policy
    assert len(states_applying(before, [policy("allow", "frontend"), policy("x")])[1]) == 3


def test_nothing_applied_is_one_state_the_one_before() -> None:
    assert names(states_applying([policy("deny")], [])) == [[("deny", 1)]]


def test_deleting_removes_one_at_a_time() -> None:
    before = [policy("a"), policy("b"), policy("c")]
    assert names(states_deleting(before, before)) == [
        [("a", 1), ("b", 1), ("c", 1)],
        [("b", 1), ("c", 1)],
        [("c", 1)],
    ]
