"""Hypothesis strategies for small topologies and policy manifests, shared by property tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from policy_helpers import netpol

from netpol_conformance.model.topology import Topology
from netpol_conformance.model.topology_file import topology_from_dict

NAMESPACES = ("x", "y", "z")
POLICY_NAMESPACES = (*NAMESPACES, "empty")  # "empty" holds no pod
LABEL_KEYS = ("app", "tier")
LABEL_VALUES = ("a", "b")

Doc = dict[str, Any]

# --- topologies


@st.composite
def topologies(draw: st.DrawFn) -> Topology:
    labels = st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), max_size=2)
    ns_labels = st.dictionaries(st.just("team"), st.sampled_from(("red", "blue")), max_size=1)
    namespaces = [{"name": ns, "labels": draw(ns_labels)} for ns in NAMESPACES]
    pods = []
    for i in range(draw(st.integers(1, 6))):
        ns = draw(st.sampled_from(NAMESPACES))
        ip = f"fd00::{i + 1}" if draw(st.booleans()) and i % 2 else f"10.0.{len(ns)}.{i + 1}"
        ports = [{"name": "http", "port": draw(st.sampled_from((80, 81)))}]
        if draw(st.booleans()):
            ports.append({"name": "dns", "port": 53, "protocol": "UDP"})
        if draw(st.booleans()):
            ports.append({"port": 80, "protocol": "SCTP"})
        pods.append(
            {"namespace": ns, "name": f"p{i}", "ip": ip, "labels": draw(labels), "ports": ports}
        )
    externals = [
        {"name": name, "ip": ip, "ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}
        for name, ip in (("e4", "192.0.2.1"), ("e6", "2001:db8::1"))
        if draw(st.booleans())
    ]
    return topology_from_dict({"namespaces": namespaces, "pods": pods, "externals": externals})


# --- policies (as manifests, so that parsing is exercised too)


@st.composite
def selectors(draw: st.DrawFn, keys: tuple[str, ...], values: tuple[str, ...]) -> Doc:
    out: Doc = {}
    match_labels = draw(st.dictionaries(st.sampled_from(keys), st.sampled_from(values), max_size=1))
    if match_labels:
        out["matchLabels"] = match_labels
    exprs = []
    for _ in range(draw(st.integers(0, 1))):
        op = draw(st.sampled_from(("In", "NotIn", "Exists", "DoesNotExist")))
        expr: Doc = {"key": draw(st.sampled_from(keys)), "operator": op}
        if op in ("In", "NotIn"):
            expr["values"] = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2))
        exprs.append(expr)
    if exprs:
        out["matchExpressions"] = exprs
    return out


POD_SELECTORS = selectors(LABEL_KEYS, LABEL_VALUES)
NS_SELECTORS = st.one_of(
    selectors(("team",), ("red", "blue")),
    st.builds(
        lambda ns: {"matchLabels": {"kubernetes.io/metadata.name": ns}},
        st.sampled_from(NAMESPACES),
    ),
)
IP_BLOCKS = st.sampled_from(
    [
        {"cidr": "10.0.0.0/8", "except": ["10.0.1.0/24"]},
        {"cidr": "10.0.2.0/24"},
        {"cidr": "0.0.0.0/0"},
        {"cidr": "fd00::/64", "except": ["fd00::/126"]},
        {"cidr": "192.0.2.0/24"},
        {"cidr": "::/0"},
    ]
)
PEERS = st.one_of(
    st.builds(lambda s: {"podSelector": s}, POD_SELECTORS),
    st.builds(lambda s: {"namespaceSelector": s}, NS_SELECTORS),
    st.builds(lambda p, n: {"podSelector": p, "namespaceSelector": n}, POD_SELECTORS, NS_SELECTORS),
    st.builds(lambda b: {"ipBlock": b}, IP_BLOCKS),
)
PORTS = st.sampled_from(
    [
        {"port": 80},
        {"port": 81},
        {"port": "http"},
        {"port": "http", "protocol": "SCTP"},
        {"port": "dns"},
        {"port": "dns", "protocol": "UDP"},
        {"port": 53, "protocol": "UDP"},
        {"protocol": "UDP"},
        {"port": 80, "endPort": 81},
        {"port": 80, "protocol": "SCTP"},
    ]
)


@st.composite
def rules(draw: st.DrawFn, peers_field: str) -> Doc:
    rule: Doc = {}
    if draw(st.booleans()):
        rule[peers_field] = draw(st.lists(PEERS, max_size=2))
    if draw(st.booleans()):
        rule["ports"] = draw(st.lists(PORTS, max_size=2))
    return rule


@st.composite
def policy_docs(draw: st.DrawFn, name: str, namespace: str | None = None) -> Doc:
    ns = namespace or draw(st.sampled_from(POLICY_NAMESPACES))
    spec: Doc = {"podSelector": draw(POD_SELECTORS)}
    types = draw(st.sampled_from([None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
    if types is not None:
        spec["policyTypes"] = types
    if draw(st.booleans()):
        spec["ingress"] = draw(st.lists(rules("from"), max_size=2))
    if draw(st.booleans()):
        spec["egress"] = draw(st.lists(rules("to"), max_size=2))
    return netpol(ns, name, **spec)


@st.composite
def policy_sets(draw: st.DrawFn, max_size: int = 4) -> list[Doc]:
    return [draw(policy_docs(f"p{i}")) for i in range(draw(st.integers(0, max_size)))]
