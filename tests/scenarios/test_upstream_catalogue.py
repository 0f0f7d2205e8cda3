"""The catalogue mirrors every upstream spec, and the oracle agrees with every hand-written
table, state by state."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from netpol_conformance.scenarios.catalogue import BEYOND, BY_ID, SCENARIOS, mirrored
from netpol_conformance.scenarios.evaluate import disagreements, walk
from netpol_conformance.scenarios.model import DENY, Apply, Label, Scenario, State, Update
from netpol_conformance.scenarios.topology import catalogue_topology
from netpol_conformance.scenarios.upstream import (
    API,
    API_SUITE,
    API_TESTS,
    CONNECTIVITY,
    FAMILIES,
    SPECS,
)

TOPOLOGY = catalogue_topology()
ROOT = Path(__file__).resolve().parents[2]


def test_every_upstream_connectivity_spec_has_a_scenario() -> None:
    assert len(CONNECTIVITY) == 48
    missing = [f"{n}: {SPECS[n][1]}" for n in CONNECTIVITY if n not in mirrored()]
    assert not missing, missing


def test_every_upstream_api_spec_has_a_test_in_the_api_suite() -> None:
    """Specs 49 and 50 are tests of the API suite: each one named in API_TESTS is defined
    there, is marked catalogue and api (its module is), and names its spec."""
    assert API == (49, 50)
    assert sorted(API_TESTS) == list(API)
    tree = ast.parse((ROOT / "suites" / API_SUITE).read_text(encoding="utf-8"))
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    for number, name in API_TESTS.items():
        assert name in defined, f"spec {number}: {name} is not in {API_SUITE}"
        assert name.startswith(f"test_upstream_{number:02d}_")
    marks = next(
        ast.unparse(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "pytestmark"
    )
    assert marks == "[pytest.mark.catalogue, pytest.mark.api]"


def test_what_upstream_misses_has_a_scenario_each() -> None:
    beyond = {s.id for s in BEYOND}
    for wanted in (
        "beyond-endport-ingress",
        "beyond-endport-egress",
        "beyond-named-port-differs-per-pod",
        "beyond-named-port-wrong-protocol",
        "beyond-except-and-another-allow",
        "beyond-namespace-label-removed",
        "beyond-pod-label-removed",
        "beyond-new-pod-under-deny",
        "beyond-updated-to-another-peer",
    ):
        assert wanted in beyond


def test_each_scenario_is_in_its_specs_family_and_has_a_unique_id() -> None:
    assert len(BY_ID) == len(SCENARIOS)
    for s in SCENARIOS:
        assert s.family in FAMILIES
        if s.upstream:
            assert s.family == SPECS[s.upstream][0], s.id
            assert s.id.startswith(f"upstream-{s.upstream:02d}-"), s.id


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_the_oracle_agrees_with_every_table(scenario: Scenario) -> None:
    found = disagreements(scenario, TOPOLOGY)
    assert not found, "\n".join(found[:10])


def test_a_wrong_table_is_caught_naming_the_probe() -> None:
    """The agreement check can fail: a table that forgets the deny of spec 1."""
    wrong = Scenario(
        "upstream-01-wrong",
        "deny-allow-all",
        (State("policies", BY_ID["upstream-01-default-deny-ingress"].states[0].changes, ()),),
    )
    found = disagreements(wrong, TOPOLOGY)
    assert len(found) == 3 * 8  # each pod of x, from the 8 other pods
    assert any(
        f.startswith(
            "upstream-01-wrong/policies: y/a->x/a:80/TCP: table says allowed, oracle says denied ("
        )
        for f in found
    )


def test_label_changes_reach_the_oracle() -> None:
    scenario = BY_ID["upstream-21-from-updated-namespace"]
    before, after = list(walk(scenario, TOPOLOGY))
    assert before.topology.namespace("y").labels == {}
    assert after.topology.namespace("y").labels == {"ns2": "updated"}
    assert not before.oracle().explain("y/b", "x/a", 80).allowed
    assert after.oracle().explain("y/b", "x/a", 80).allowed


def test_an_update_replaces_and_a_delete_removes() -> None:
    states = list(walk(BY_ID["upstream-36-cidr-and-except-updated"], TOPOLOGY))
    assert len(states[0].policies) == len(states[1].policies) == 1
    assert "except" not in str(states[1].policies[0])
    deleted = list(walk(BY_ID["upstream-33-deleted-policy"], TOPOLOGY))
    assert len(deleted[0].policies) == 1 and deleted[1].policies == ()


def test_addresses_are_rendered_as_networks() -> None:
    (reached,) = walk(BY_ID["upstream-35-except-in-cidr"], TOPOLOGY)
    block = reached.policies[0]["spec"]["egress"][0]["to"][0]["ipBlock"]
    assert block == {"cidr": "0.0.0.0/4", "except": [f"{TOPOLOGY.pod('x/b').ip}/32"]}


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            Update(BY_ID["upstream-01-default-deny-ingress"].states[0].changes[0].policy),
            "nothing to update",
        ),  # type: ignore[union-attr]
        (Label("x/q", {"a": "b"}), "x/q"),
    ],
)
def test_an_impossible_change_is_refused(change: object, says: str) -> None:
    scenario = Scenario("bad", "deny-allow-all", (State("s", (change,), ((DENY, "*", "*", "*"),)),))  # type: ignore[arg-type]
    with pytest.raises((ValueError, KeyError), match=says):
        list(walk(scenario, TOPOLOGY))


def test_applying_a_policy_twice_is_refused() -> None:
    apply = BY_ID["upstream-01-default-deny-ingress"].states[0].changes[0]
    assert isinstance(apply, Apply)
    scenario = Scenario("twice", "deny-allow-all", (State("s", (apply, apply), ()),))
    with pytest.raises(ValueError, match="exists already"):
        list(walk(scenario, TOPOLOGY))
