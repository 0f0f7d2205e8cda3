"""Label selectors: matchLabels, matchExpressions, the empty selector, namespace scoping."""

from __future__ import annotations

from typing import Any

import pytest
from policy_helpers import PODS, basic, into, netpol, simulate

from netpol_conformance.policy.model import LabelSelector, Requirement

DENY_INGRESS = {"policyTypes": ["Ingress"]}


def isolated(namespace: str, selector: dict[str, Any]) -> set[str]:
    """Pods that a deny-ingress policy with this podSelector isolates (nothing reaches them)."""
    sim = simulate(basic(), [netpol(namespace, "deny", podSelector=selector, **DENY_INGRESS)])
    open_to = {dst for _, dst in sim.allowed_pairs(80)}
    return {p for p in PODS if p not in open_to}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({}, {"x/a", "x/b"}),
        ({"matchLabels": {"app": "a"}}, {"x/a"}),
        ({"matchLabels": {"app": "b", "tier": "db"}}, {"x/b"}),
        ({"matchLabels": {"app": "a", "tier": "db"}}, set()),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "c"]}]}, {"x/a"}),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["a"]}]}, {"x/b"}),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]}, {"x/a"}),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"x/b"}),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {"x/a"}),
        (
            {
                "matchLabels": {"app": "b"},
                "matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}],
            },
            set(),
        ),
    ],
    ids=["empty", "label", "two-labels", "no-match", "in", "notin", "notin-absent-key",
         "exists", "doesnotexist", "labels-and-expressions"],
)  # fmt: skip
def test_pod_selector_chooses_the_isolated_pods(selector: dict, expected: set[str]) -> None:
    assert isolated("x", selector) == expected


def test_a_policy_only_selects_pods_in_its_own_namespace() -> None:
    # y/a carries app=a too, but a policy in x never selects it.
    assert isolated("x", {"matchLabels": {"app": "a"}}) == {"x/a"}
    assert isolated("y", {}) == {"y/a", "y/b"}
    assert isolated("nowhere", {}) == set()


def test_requirement_semantics() -> None:
    labels = {"app": "a"}
    assert Requirement("app", "In", ("a", "b")).matches(labels)
    assert not Requirement("app", "In", ("b",)).matches(labels)
    assert not Requirement("tier", "In", ("",)).matches(labels)
    assert Requirement("app", "NotIn", ("b",)).matches(labels)
    assert Requirement("tier", "NotIn", ("x",)).matches(labels)
    assert not Requirement("app", "NotIn", ("a",)).matches(labels)
    assert Requirement("app", "Exists").matches(labels)
    assert not Requirement("tier", "Exists").matches(labels)
    assert Requirement("tier", "DoesNotExist").matches(labels)


def test_empty_selector_selects_everything_and_match_labels_need_the_exact_value() -> None:
    assert LabelSelector().is_empty
    assert LabelSelector().matches({})
    assert LabelSelector((("app", ""),)).matches({"app": ""})
    assert not LabelSelector((("app", ""),)).matches({})
    assert not LabelSelector((("app", "a"),)).matches({"app": "A"})


def test_deny_ingress_keeps_other_pods_reachable() -> None:
    sim = simulate(basic(), [netpol("x", "deny", podSelector={"matchLabels": {"app": "a"}},
                                    **DENY_INGRESS)])  # fmt: skip
    assert sim.allowed_pairs(80) >= into("x/b") | into("y/a")
    assert not any(dst == "x/a" for _, dst in sim.allowed_pairs(80))
