"""Peers: podSelector, namespaceSelector, both (AND), several (OR), rules (OR), ipBlock."""

from __future__ import annotations

from typing import Any

from policy_helpers import PODS, basic, netpol, simulate

APP_A = {"podSelector": {"matchLabels": {"app": "a"}}}
TEAM_BLUE = {"namespaceSelector": {"matchLabels": {"team": "blue"}}}
SELF = {"podSelector": {"matchLabels": {"app": "b", "tier": "db"}}}  # selects x/b


def sources_into_xb(*rules: dict[str, Any]) -> set[str]:
    """Which pods reach x/b:80 when x/b's only ingress policy has ``rules``."""
    sim = simulate(basic(), [netpol("x", "p", **SELF, ingress=list(rules))])
    return {src for src, dst in sim.allowed_pairs(80) if dst == "x/b"}


def test_pod_selector_alone_means_pods_of_the_policy_namespace() -> None:
    assert sources_into_xb({"from": [APP_A]}) == {"x/a"}


def test_empty_pod_selector_means_every_pod_of_the_policy_namespace() -> None:
    assert sources_into_xb({"from": [{"podSelector": {}}]}) == {"x/a"}


def test_namespace_selector_alone_means_every_pod_of_those_namespaces() -> None:
    assert sources_into_xb({"from": [TEAM_BLUE]}) == {"y/a", "y/b"}


def test_empty_namespace_selector_means_every_pod_of_every_namespace() -> None:
    assert sources_into_xb({"from": [{"namespaceSelector": {}}]}) == set(PODS) - {"x/b"}


def test_namespace_selector_sees_the_automatic_name_label() -> None:
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "z"}}}
    assert sources_into_xb({"from": [peer]}) == {"z/c"}


def test_both_selectors_in_one_peer_are_anded() -> None:
    assert sources_into_xb({"from": [{**TEAM_BLUE, **APP_A}]}) == {"y/a"}


def test_several_peers_are_ored() -> None:
    assert sources_into_xb({"from": [TEAM_BLUE, APP_A]}) == {"y/a", "y/b", "x/a"}


def test_several_rules_are_ored() -> None:
    assert sources_into_xb({"from": [TEAM_BLUE]}, {"from": [APP_A]}) == {"y/a", "y/b", "x/a"}


def test_no_peers_means_every_peer() -> None:
    assert sources_into_xb({"ports": [{"port": 80}]}) == set(PODS) - {"x/b"}


def test_empty_rule_allows_everything_and_empty_list_denies() -> None:
    assert sources_into_xb({}) == set(PODS) - {"x/b"}
    assert sources_into_xb() == set()


def test_ip_block_matches_pod_ips_with_except() -> None:
    block = {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.2.2/32"]}}
    assert sources_into_xb({"from": [block]}) == {"x/a", "y/a"}


def test_ip_block_ipv6_matches_only_ipv6_pods() -> None:
    assert sources_into_xb({"from": [{"ipBlock": {"cidr": "fd00::/64"}}]}) == {"z/c"}
    assert sources_into_xb({"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}) == {"x/a", "y/a", "y/b"}


def egress_targets(*rules: dict[str, Any]) -> set[str]:
    """Where x/a may connect when its only egress policy has ``rules`` (port 443 or 80)."""
    sim = simulate(basic(), [netpol("x", "p", **APP_A, policyTypes=["Egress"], egress=list(rules))])
    return {dst for src, dst in sim.allowed_pairs(443) | sim.allowed_pairs(80) if src == "x/a"}


def test_ip_block_matches_external_ipv4_and_ipv6() -> None:
    assert egress_targets({"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}) == {"ext4"}
    assert egress_targets({"to": [{"ipBlock": {"cidr": "2001:db8::/32"}}]}) == {"ext6"}
    both = {"to": [{"ipBlock": {"cidr": "::/0"}}, {"ipBlock": {"cidr": "0.0.0.0/0"}}]}
    assert egress_targets(both) == {"ext4", "ext6", "x/b", "y/a", "y/b", "z/c"}


def test_ip_block_except_excludes_an_external() -> None:
    rule = {"to": [{"ipBlock": {"cidr": "203.0.113.0/24", "except": ["203.0.113.0/28"]}}]}
    assert egress_targets(rule) == set()


def test_selectors_never_match_externals() -> None:
    rule = {"to": [{"namespaceSelector": {}}, {"podSelector": {}}]}
    assert egress_targets(rule) == {"x/b", "y/a", "y/b", "z/c"}


def test_egress_with_no_peers_reaches_externals_too() -> None:
    assert egress_targets({}) == {"x/b", "y/a", "y/b", "z/c", "ext4", "ext6"}


def test_egress_peer_reasons_name_the_rule() -> None:
    any_app_a = {"namespaceSelector": {}, **APP_A}
    rules = [{"to": [TEAM_BLUE]}, {"to": [any_app_a]}]
    sim = simulate(basic(), [netpol("x", "p", policyTypes=["Egress"], egress=rules)])
    assert sim.reason("x/b", "x/a", 80).startswith(
        "egress: allowed by x/p egress[1] (x/b is selected by x/p);"
    )
    assert sim.reason("x/b", "y/b", 80).startswith(
        "egress: allowed by x/p egress[0] (x/b is selected by x/p);"
    )
    assert sim.reason("x/b", "y/a", 80).startswith(
        "egress: allowed by x/p egress[0], x/p egress[1] (x/b is selected by x/p);"
    )
    assert "egress: denied (x/b is isolated by x/p and no rule allows it)" in sim.reason(
        "x/b", "ext4", 443
    )
    assert {("x/b", "x/a"), ("x/b", "y/a"), ("x/b", "y/b")} <= sim.allowed_pairs(80)
    assert ("x/b", "z/c") not in sim.allowed_pairs(80)
