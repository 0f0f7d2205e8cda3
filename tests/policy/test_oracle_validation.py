"""Validation: every rule the API server enforces, reported with file, object and field path."""

from __future__ import annotations

from typing import Any

import pytest
from policy_helpers import build, netpol

from netpol_conformance.errors import FieldProblem, ManifestError
from netpol_conformance.policy.parse import parse_policies

OBJ = "NetworkPolicy x/p"


def problems(doc: dict[str, Any]) -> list[FieldProblem]:
    with pytest.raises(ManifestError) as info:
        parse_policies([("policies.yaml", doc)])
    assert all(p.source == "policies.yaml" for p in info.value.problems)
    return info.value.problems


def paths(doc: dict[str, Any]) -> list[str]:
    found = problems(doc)
    assert all(p.obj == OBJ for p in found), found
    return [p.path for p in found]


def ingress_peer(peer: Any) -> dict[str, Any]:
    return netpol("x", "p", ingress=[{"from": [peer]}])


def ingress_port(port: Any) -> dict[str, Any]:
    return netpol("x", "p", ingress=[{"ports": [port]}])


def expression(**expr: Any) -> dict[str, Any]:
    return netpol("x", "p", podSelector={"matchExpressions": [expr]})


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({**netpol("x", "p"), "status": {}}, "status"),
        ({**netpol("x", "p"), "metadata": {"name": "p", "namespace": "x", "nme": 1}},
         "metadata.nme"),
        (netpol("x", "p", ingres=[]), "spec.ingres"),
        (netpol("x", "p", ingress=[{"form": []}]), "spec.ingress[0].form"),
        (netpol("x", "p", egress=[{"from": []}]), "spec.egress[0].from"),
        (ingress_peer({"podSelector": {}, "podSelectr": {}}), "spec.ingress[0].from[0].podSelectr"),
        (ingress_peer({"ipBlock": {"cidr": "10.0.0.0/8", "exept": []}}),
         "spec.ingress[0].from[0].ipBlock.exept"),
        (ingress_port({"port": 80, "proto": "TCP"}), "spec.ingress[0].ports[0].proto"),
        (netpol("x", "p", podSelector={"matchLabel": {}}), "spec.podSelector.matchLabel"),
        (expression(key="a", operator="Exists", value=[]),
         "spec.podSelector.matchExpressions[0].value"),
    ],
    ids=["top", "metadata", "spec", "rule", "egress-from", "peer", "ipblock", "port",
         "selector", "expression"],
)  # fmt: skip
def test_unknown_fields_are_rejected(doc: dict[str, Any], path: str) -> None:
    found = problems(doc)
    assert [(p.obj, p.path, p.message) for p in found] == [(OBJ, path, "unknown field")]


def test_ip_block_with_a_selector_in_one_peer() -> None:
    peer = {"ipBlock": {"cidr": "10.0.0.0/8"}, "namespaceSelector": {}}
    (problem,) = problems(ingress_peer(peer))
    assert (problem.obj, problem.path) == (OBJ, "spec.ingress[0].from[0]")
    assert "ipBlock" in problem.message


def test_peer_with_nothing() -> None:
    assert paths(ingress_peer({})) == ["spec.ingress[0].from[0]"]


@pytest.mark.parametrize(
    ("block", "path"),
    [
        ({"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24"]}, "except[0]"),
        ({"cidr": "10.0.0.0/16", "except": ["10.0.0.0/24", "10.0.0.0/16"]}, "except[1]"),
        ({"cidr": "10.0.0.0/16", "except": ["10.0.0.0/8"]}, "except[0]"),
        ({"cidr": "10.0.0.0/16", "except": ["fd00::/64"]}, "except[0]"),
        ({"cidr": "fd00::/48", "except": ["fd01::/64"]}, "except[0]"),
        ({"cidr": "10.0.0.0/33"}, "cidr"),
        ({"cidr": "10.0.0.1"}, "cidr"),
        ({"except": ["10.0.0.0/24"]}, "cidr"),
        ({"cidr": "fe80::1%eth0/64"}, "cidr"),
        ({"cidr": "fe80::/10", "except": ["fe80::1%eth0/128"]}, "except[0]"),
    ],
    ids=["outside", "equal", "wider", "other-family", "outside-v6", "bad-prefix", "no-prefix",
         "missing-cidr", "zone", "zone-in-except"],
)  # fmt: skip
def test_ip_block_rules(block: dict[str, Any], path: str) -> None:
    assert paths(ingress_peer({"ipBlock": block})) == [f"spec.ingress[0].from[0].ipBlock.{path}"]


def test_ip_block_accepts_strict_subsets_in_both_families() -> None:
    v4 = {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.1.0/24", "10.0.2.7/32"]}}
    v6 = {"ipBlock": {"cidr": "fd00::/48", "except": ["fd00::/64"]}}
    (policy,) = build(netpol("x", "p", ingress=[{"from": [v4, v6]}]))
    assert [str(p) for p in policy.ingress[0].peers] == [
        "ipBlock 10.0.0.0/16 except 10.0.1.0/24,10.0.2.7/32",
        "ipBlock fd00::/48 except fd00::/64",
    ]


@pytest.mark.parametrize(
    ("port", "path"),
    [
        ({"port": "http", "endPort": 90}, "endPort"),
        ({"port": 90, "endPort": 80}, "endPort"),
        ({"endPort": 80}, "endPort"),
        ({"port": 80, "endPort": 70000}, "endPort"),
        ({"port": 80, "endPort": "90"}, "endPort"),
        ({"port": 0}, "port"),
        ({"port": 65536}, "port"),
        ({"port": "80"}, "port"),
        ({"port": "Http"}, "port"),
        ({"port": "a-very-long-port-name"}, "port"),
        ({"port": "a--b"}, "port"),
        ({"port": True}, "port"),
        ({"port": 80, "protocol": "ICMP"}, "protocol"),
        ({"port": 80, "protocol": "tcp"}, "protocol"),
    ],
    ids=["end-with-named", "end-below-port", "end-without-port", "end-too-high", "end-string",
         "port-zero", "port-too-high", "port-numeric-string", "port-name-uppercase",
         "port-name-too-long", "port-name-double-dash", "port-bool", "protocol-icmp",
         "protocol-lowercase"],
)  # fmt: skip
def test_port_rules(port: dict[str, Any], path: str) -> None:
    assert paths(ingress_port(port)) == [f"spec.ingress[0].ports[0].{path}"]


@pytest.mark.parametrize(
    ("expr", "path"),
    [
        ({"key": "app", "operator": "Equals", "values": ["a"]}, "operator"),
        ({"key": "app", "operator": "in", "values": ["a"]}, "operator"),
        ({"key": "app", "operator": "In", "values": []}, "values"),
        ({"key": "app", "operator": "NotIn"}, "values"),
        ({"key": "app", "operator": "Exists", "values": ["a"]}, "values"),
        ({"key": "app", "operator": "DoesNotExist", "values": ["a"]}, "values"),
        ({"key": "app", "operator": "In", "values": ["no spaces"]}, "values"),
        ({"key": "-app", "operator": "Exists"}, "key"),
        ({"key": "Bad_Prefix/app", "operator": "Exists"}, "key"),
    ],
    ids=["unknown-operator", "lowercase-operator", "in-empty", "notin-missing", "exists-values",
         "doesnotexist-values", "bad-value", "bad-key", "bad-prefix"],
)  # fmt: skip
def test_match_expression_rules(expr: dict[str, Any], path: str) -> None:
    assert paths(expression(**expr)) == [f"spec.podSelector.matchExpressions[0].{path}"]


def test_match_labels_rules() -> None:
    assert paths(netpol("x", "p", podSelector={"matchLabels": {"app": "a b"}})) == [
        "spec.podSelector.matchLabels.app"
    ]
    assert paths(netpol("x", "p", podSelector={"matchLabels": {"a b": "x"}})) == [
        "spec.podSelector.matchLabels"
    ]
    assert paths(netpol("x", "p", podSelector={"matchLabels": ["app=a"]})) == [
        "spec.podSelector.matchLabels"
    ]
    assert paths(netpol("x", "p", podSelector={"matchLabels": [{"app": "a"}]})) == [
        "spec.podSelector.matchLabels"
    ]
    peer = {"namespaceSelector": {"matchLabels": {"team": 7}}}
    assert paths(ingress_peer(peer)) == [
        "spec.ingress[0].from[0].namespaceSelector.matchLabels.team"
    ]


def test_qualified_label_keys_are_accepted() -> None:
    selector = {"matchLabels": {"kubernetes.io/metadata.name": "x", "app.kubernetes.io/name": ""}}
    (policy,) = build(netpol("x", "p", podSelector=selector))
    assert dict(policy.pod_selector.match_labels)["app.kubernetes.io/name"] == ""


@pytest.mark.parametrize(
    ("types", "path"),
    [(["Ingress", "Egres"], "spec.policyTypes[1]"), (["Ingress", "Egress", "Ingress"],
      "spec.policyTypes"), ([{"Ingress": None}], "spec.policyTypes[0]"),
     ("Ingress", "spec.policyTypes")],
    ids=["unknown", "too-many", "not-a-string", "not-a-list"],
)  # fmt: skip
def test_policy_types_rules(types: Any, path: str) -> None:
    assert paths(netpol("x", "p", policyTypes=types)) == [path]


def test_object_level_rules() -> None:
    doc = netpol("x", "p")
    assert paths({**doc, "apiVersion": "networking.k8s.io/v1beta1"}) == ["apiVersion"]
    (problem,) = problems({**doc, "metadata": {"name": "p"}})
    assert (problem.obj, problem.path) == ("NetworkPolicy p", "metadata.namespace")
    (problem,) = problems({**doc, "metadata": {"name": "p", "namespace": "X_"}})
    assert (problem.obj, problem.path) == ("NetworkPolicy X_/p", "metadata.namespace")
    assert paths({k: v for k, v in doc.items() if k != "spec"}) == ["spec"]
    (problem,) = problems({**doc, "metadata": {"name": "P!", "namespace": "x"}})
    assert (problem.obj, problem.path) == ("NetworkPolicy x/P!", "metadata.name")
    (problem,) = problems({**doc, "kind": "Pod"})
    assert (problem.obj, problem.path) == ("Pod x/p", "kind")


def test_null_fields_mean_not_set() -> None:
    (policy,) = build(ingress_peer({"podSelector": None, "namespaceSelector": {}}))
    assert str(policy.ingress[0].peers[0]) == "namespaces[<all>]"
    (policy,) = build(ingress_peer({"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": None}))
    assert str(policy.ingress[0].peers[0]) == "ipBlock 10.0.0.0/8"
    assert paths(ingress_peer({"podSelector": None})) == ["spec.ingress[0].from[0]"]
    (policy,) = build(ingress_port({"port": 80, "protocol": None}))
    assert str(policy.ingress[0].ports[0]) == "80/TCP"


def test_every_problem_is_reported_at_once_with_file_and_object() -> None:
    bad = netpol("x", "p", ingress=[{"from": [{}], "ports": [{"port": 0}]}], egres=[])
    good = netpol("y", "q")
    other = netpol("z", "r", policyTypes=["Both"])
    with pytest.raises(ManifestError) as info:
        parse_policies([("a.yaml", bad), ("b.yaml[0]", good), ("b.yaml[1]", other)])
    where = [(p.source, p.obj, p.path) for p in info.value.problems]
    assert where == [
        ("a.yaml", OBJ, "spec.egres"),
        ("a.yaml", OBJ, "spec.ingress[0].from[0]"),
        ("a.yaml", OBJ, "spec.ingress[0].ports[0].port"),
        ("b.yaml[1]", "NetworkPolicy z/r", "spec.policyTypes[0]"),
    ]
    text = str(info.value)
    assert text.startswith("4 problems in the manifests:")
    assert "a.yaml: NetworkPolicy x/p: spec.ingress[0].ports[0].port: 0 must be between" in text
    assert info.value.exit_code == 2


def test_the_same_policy_twice_is_an_error() -> None:
    with pytest.raises(ManifestError) as info:
        parse_policies([("a.yaml", netpol("x", "p")), ("b.yaml", netpol("x", "p"))])
    (problem,) = info.value.problems
    assert (problem.source, problem.obj) == ("b.yaml", OBJ)
    assert "a.yaml" in problem.message


def test_a_document_that_is_not_a_mapping() -> None:
    (problem,) = problems(["not", "a", "policy"])  # type: ignore[arg-type]
    assert problem.message == "a document must be a mapping"
