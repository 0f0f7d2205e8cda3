"""Properties of the oracle over generated topologies and policies (hypothesis)."""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import build, cells, netpol

from netpol_conformance.model.topology import Topology
from netpol_conformance.model.topology_file import topology_from_dict
from netpol_conformance.policy.model import EGRESS, INGRESS
from netpol_conformance.policy.oracle import Oracle

NAMESPACES = ("x", "y", "z")
POLICY_NAMESPACES = (*NAMESPACES, "empty")  # "empty" holds no pod
LABEL_KEYS = ("app", "tier")
LABEL_VALUES = ("a", "b")
FAST = settings(max_examples=60, deadline=None)

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


def matrix_cells(topology: Topology, docs: list[Doc]) -> dict[tuple[str, str, int, str], bool]:
    return cells(Oracle(topology, build(*docs)).matrix())


# --- properties


@FAST
@given(topologies(), policy_sets())
def test_matrix_agrees_with_explain_on_every_cell(topology: Topology, docs: list[Doc]) -> None:
    oracle = Oracle(topology, build(*docs))
    matrix = oracle.matrix()
    n = 0
    for c in matrix.cells():
        verdict = oracle.explain(c.src, c.dst, c.port, c.protocol)
        assert verdict.allowed is c.allowed, verdict.reason
        assert matrix.allowed(c.src, c.dst, c.port, c.protocol) is c.allowed
        n += 1
    expected = sum(len(d.ports) for _ in topology.pods for d in topology.endpoints) - sum(
        len(p.ports) for p in topology.pods
    )
    assert n == matrix.verdict_count == expected


@FAST
@given(topologies(), policy_sets(), st.randoms(use_true_random=False))
def test_policy_order_does_not_matter(topology: Topology, docs: list[Doc], rnd: Any) -> None:
    shuffled = list(docs)
    rnd.shuffle(shuffled)
    assert matrix_cells(topology, shuffled) == matrix_cells(topology, docs)
    a, b = Oracle(topology, build(*docs)), Oracle(topology, build(*shuffled))
    for c in a.matrix().cells():
        assert a.explain(c.src, c.dst, c.port, c.protocol) == b.explain(
            c.src, c.dst, c.port, c.protocol
        )


@FAST
@given(topologies(), policy_sets(), st.data())
def test_adding_an_allow_rule_never_removes_a_connection(
    topology: Topology, docs: list[Doc], data: st.DataObject
) -> None:
    if not docs:
        docs = [data.draw(policy_docs("p0"))]
    i = data.draw(st.integers(0, len(docs) - 1))
    (parsed,) = build(docs[i])
    direction = data.draw(st.sampled_from(sorted(parsed.policy_types)))
    field = "ingress" if direction == INGRESS else "egress"
    rule = data.draw(rules("from" if direction == INGRESS else "to"))
    spec = dict(docs[i]["spec"])
    spec["policyTypes"] = sorted(parsed.policy_types)  # keep the types the rule must not change
    spec[field] = [*(spec.get(field) or []), rule]
    widened = [*docs[:i], {**docs[i], "spec": spec}, *docs[i + 1 :]]
    before = matrix_cells(topology, docs)
    after = matrix_cells(topology, widened)
    assert before.keys() == after.keys()
    assert all(after[k] for k, ok in before.items() if ok)


@FAST
@given(topologies(), policy_sets(), st.data())
def test_a_policy_selecting_no_pod_changes_nothing(
    topology: Topology, docs: list[Doc], data: st.DataObject
) -> None:
    extra = data.draw(policy_docs("selects-nothing"))
    extra["spec"]["podSelector"] = {"matchLabels": {"no-pod-has": "this"}}
    assert matrix_cells(topology, [*docs, extra]) == matrix_cells(topology, docs)


@FAST
@given(topologies(), policy_sets(), st.sampled_from(NAMESPACES))
def test_deny_all_ingress_blocks_everything_into_its_namespace_and_nothing_else(
    topology: Topology, docs: list[Doc], namespace: str
) -> None:
    deny_all = netpol(namespace, "deny-all", policyTypes=["Ingress"])
    # Alone in its namespace, it blocks every connection into it, and changes nothing else.
    others = [d for d in docs if d["metadata"]["namespace"] != namespace]
    before = matrix_cells(topology, others)
    after = matrix_cells(topology, [*others, deny_all])
    assert before.keys() == after.keys()
    for key, ok in after.items():
        assert ok == (before[key] and not key[1].startswith(f"{namespace}/")), key
    # Next to other policies, it never adds a connection and leaves other namespaces alone;
    # what still gets in is allowed by a rule that is named.
    oracle = Oracle(topology, build(*docs, deny_all))
    before = matrix_cells(topology, docs)
    for c in oracle.matrix().cells():
        key = (c.src, c.dst, c.port, c.protocol)
        if not c.dst.startswith(f"{namespace}/"):
            assert c.allowed == before[key], key
        elif c.allowed:
            assert before[key]
            ingress = oracle.explain(*key).ingress
            assert "deny-all" not in " ".join(ingress.allowed_by)
            assert ingress.allowed_by and f"{namespace}/deny-all" in ingress.selected_by


@FAST
@given(topologies(), policy_sets(), st.sampled_from(POLICY_NAMESPACES))
def test_policies_only_affect_pods_of_their_namespace(
    topology: Topology, docs: list[Doc], namespace: str
) -> None:
    others = [d for d in docs if d["metadata"]["namespace"] != namespace]
    with_ns, without_ns = matrix_cells(topology, docs), matrix_cells(topology, others)
    in_ns = {p.key for p in topology.pods if p.namespace == namespace}
    for key, ok in with_ns.items():
        src, dst = key[0], key[1]
        if src not in in_ns and dst not in in_ns:
            assert ok == without_ns[key], key


@FAST
@given(topologies(), policy_sets())
def test_an_isolated_direction_is_allowed_only_by_a_named_rule(
    topology: Topology, docs: list[Doc]
) -> None:
    oracle = Oracle(topology, build(*docs))
    for c in oracle.matrix().cells():
        v = oracle.explain(c.src, c.dst, c.port, c.protocol)
        for d in (v.egress, v.ingress):
            keys = {p.key for p in oracle.policies if d.direction in p.policy_types}
            assert set(d.selected_by) <= keys
            assert all(r.split(" ")[0] in d.selected_by for r in d.allowed_by)
            assert all(r.split(" ")[1].startswith(d.direction.lower()) for r in d.allowed_by)
        assert (v.egress.direction, v.ingress.direction) == (EGRESS, INGRESS)


# --- an independent reading of the manifests, written from the Kubernetes documentation


def _ref_selects(selector: Doc, labels: dict[str, str]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[op]
        if not ok:
            return False
    return True


def _ref_peer(topology: Topology, peer: Doc, policy_ns: str, endpoint: Any) -> bool:
    if "ipBlock" in peer:
        ip = ipaddress.ip_address(str(endpoint.ip))
        nets = [ipaddress.ip_network(peer["ipBlock"]["cidr"])]
        nets += [ipaddress.ip_network(e) for e in peer["ipBlock"].get("except", [])]
        inside = [n.version == ip.version and ip in n for n in nets]
        return inside[0] and not any(inside[1:])
    if not hasattr(endpoint, "namespace"):
        return False
    if "namespaceSelector" in peer:
        ns_labels = {**topology.namespace(endpoint.namespace).labels}
        ns_labels["kubernetes.io/metadata.name"] = endpoint.namespace
        ns_ok = _ref_selects(peer["namespaceSelector"], ns_labels)
    else:
        ns_ok = endpoint.namespace == policy_ns
    return ns_ok and _ref_selects(peer.get("podSelector") or {}, dict(endpoint.labels))


def _ref_port(rule_port: Doc, dst: Any, port: int, protocol: str) -> bool:
    if rule_port.get("protocol", "TCP") != protocol:
        return False
    wanted = rule_port.get("port")
    if wanted is None:
        return True
    if isinstance(wanted, str):
        return any(p.name == wanted and p.protocol == protocol and p.port == port
                   for p in getattr(dst, "ports", ()) if hasattr(dst, "namespace"))  # fmt: skip
    return wanted <= port <= rule_port.get("endPort", wanted)


def _ref_direction(topology: Topology, docs: list[Doc], direction: str, subject: Any,
                   peer: Any, dst: Any, port: int, protocol: str) -> bool:  # fmt: skip
    if not hasattr(subject, "namespace"):
        return True  # externals are not governed
    field, peers_field = ("ingress", "from") if direction == INGRESS else ("egress", "to")
    isolated = False
    for doc in docs:
        ns, spec = doc["metadata"]["namespace"], doc["spec"]
        types = spec.get("policyTypes") or (["Ingress", "Egress"] if spec.get("egress") else
                                            ["Ingress"])  # fmt: skip
        if direction not in types or subject.namespace != ns:
            continue
        if not _ref_selects(spec["podSelector"], dict(subject.labels)):
            continue
        isolated = True
        for rule in spec.get(field) or []:
            peers, ports = rule.get(peers_field) or [], rule.get("ports") or []
            if (not peers or any(_ref_peer(topology, p, ns, peer) for p in peers)) and (
                not ports or any(_ref_port(pp, dst, port, protocol) for pp in ports)
            ):
                return True
    return not isolated


@FAST
@given(topologies(), policy_sets())
def test_matrix_agrees_with_an_independent_reading_of_the_manifests(
    topology: Topology, docs: list[Doc]
) -> None:
    for c in Oracle(topology, build(*docs)).matrix().cells():
        src, dst = topology.endpoint(c.src), topology.endpoint(c.dst)
        expected = _ref_direction(
            topology, docs, EGRESS, src, dst, dst, c.port, c.protocol
        ) and _ref_direction(topology, docs, INGRESS, dst, src, dst, c.port, c.protocol)
        assert c.allowed is expected, (c, docs)
