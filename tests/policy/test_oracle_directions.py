"""policyTypes defaulting, both directions, union of policies, reasons."""

from __future__ import annotations

from policy_helpers import PODS, basic, build, into, netpol, simulate

from netpol_conformance.policy.model import EGRESS, INGRESS

ALL_80 = {(s, d) for s in PODS for d in PODS if s != d}


def test_policy_types_default_to_ingress_without_egress_rules() -> None:
    (policy,) = build(netpol("x", "p", ingress=[{}]))
    assert policy.policy_types == {INGRESS}


def test_policy_types_default_to_both_with_egress_rules() -> None:
    (policy,) = build(netpol("x", "p", egress=[{}]))
    assert policy.policy_types == {INGRESS, EGRESS}
    (policy,) = build(netpol("x", "p", egress=[]))
    assert policy.policy_types == {INGRESS}


def test_egress_only_rules_without_policy_types_also_isolate_ingress() -> None:
    sim = simulate(basic(), [netpol("x", "p", egress=[{}])])
    assert sim.allowed_pairs(80) == ALL_80 - into("x/a") - into("x/b")
    assert "ingress: denied (x/a is isolated by x/p and no rule allows it)" in sim.reason(
        "y/a", "x/a", 80
    )


def test_explicit_egress_type_leaves_ingress_open() -> None:
    sim = simulate(basic(), [netpol("x", "p", policyTypes=["Egress"], egress=[{}])])
    assert sim.allowed_pairs(80) == ALL_80


def test_rules_of_a_direction_not_in_policy_types_are_ignored() -> None:
    sim = simulate(basic(), [netpol("x", "p", policyTypes=["Ingress"], egress=[{"to": []}])])
    assert sim.allowed_pairs(80) == ALL_80 - into("x/a") - into("x/b")
    assert sim.oracle.policies[0].egress == ()


def test_a_connection_needs_both_egress_and_ingress() -> None:
    egress_ok = netpol(
        "x", "out", policyTypes=["Egress"], egress=[{"to": [{"namespaceSelector": {}}]}]
    )
    ingress_deny = netpol("y", "in", podSelector={"matchLabels": {"app": "a"}})
    sim = simulate(basic(), [egress_ok, ingress_deny])
    assert not sim.allowed("x/a", "y/a", 80)
    assert sim.allowed("x/a", "y/b", 80)
    assert sim.reason("x/a", "y/a", 80) == (
        "egress: allowed by x/out egress[0] (x/a is selected by x/out); "
        "ingress: denied (y/a is isolated by y/in and no rule allows it)"
    )
    # and the other way round: an open destination does not help an isolated source
    sim = simulate(basic(), [netpol("x", "out", policyTypes=["Egress"])])
    assert not sim.allowed("x/a", "y/a", 80)
    assert sim.reason("x/a", "y/a", 80) == (
        "egress: denied (x/a is isolated by x/out and no rule allows it); "
        "ingress: open (y/a is selected by no Ingress policy)"
    )


def test_pods_selected_by_no_policy_are_open() -> None:
    sim = simulate(basic())
    assert sim.allowed_pairs(80) == ALL_80
    assert sim.reason("x/a", "ext4", 443) == (
        "egress: open (x/a is selected by no Egress policy); "
        "ingress: not governed (ext4 is outside the cluster)"
    )


def test_policies_are_a_union() -> None:
    from_a = netpol(
        "x", "from-a", ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}]}]
    )
    blue = {"namespaceSelector": {"matchLabels": {"team": "blue"}}}
    from_blue = netpol("x", "from-blue", ingress=[{"from": [blue]}])
    sim = simulate(basic(), [from_a, from_blue])
    assert {s for s, d in sim.allowed_pairs(80) if d == "x/b"} == {"x/a", "y/a", "y/b"}
    assert sim.reason("y/a", "x/b", 80).endswith(
        "ingress: allowed by x/from-blue ingress[0] (x/b is selected by x/from-a, x/from-blue)"
    )
    assert "isolated by x/from-a, x/from-blue" in sim.reason("z/c", "x/b", 80)
    assert simulate(basic(), [from_blue, from_a]).allowed_pairs(80) == sim.allowed_pairs(80)


def test_deny_all_and_allow_all_together_allow_all() -> None:
    sim = simulate(basic(), [netpol("x", "deny"), netpol("x", "allow", ingress=[{}])])
    assert sim.allowed_pairs(80) == ALL_80
