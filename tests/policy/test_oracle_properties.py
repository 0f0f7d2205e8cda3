"""Properties of the oracle over generated topologies and policies (hypothesis)."""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from oracle_strategies import (
    NAMESPACES,
    POLICY_NAMESPACES,
    Doc,
    policy_docs,
    policy_sets,
    rules,
    topologies,
)
from policy_helpers import build, cells, netpol

from netpol_conformance.model.topology import Topology
from netpol_conformance.policy.model import EGRESS, INGRESS
from netpol_conformance.policy.oracle import Oracle

FAST = settings(max_examples=60, deadline=None)


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
