"""Parse and validate NetworkPolicy objects as strictly as the API server does.

Every problem is collected with its file, object and field path; nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netpol_conformance.errors import FieldProblem, ManifestError
from netpol_conformance.model.addresses import plain_network
from netpol_conformance.model.names import (
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_value,
    is_qualified_name,
    is_service_name,
)
from netpol_conformance.model.topology import PROTOCOLS
from netpol_conformance.policy.model import (
    EGRESS,
    INGRESS,
    IPBlock,
    LabelSelector,
    NetworkPolicy,
    Peer,
    PolicyPort,
    Requirement,
    Rule,
)

API_VERSION = "networking.k8s.io/v1"
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

_TOP_FIELDS = {"apiVersion", "kind", "metadata", "spec"}
_META_FIELDS = {
    "name",
    "namespace",
    "labels",
    "annotations",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "finalizers",
    "managedFields",
    "generateName",
    "selfLink",
}
_SPEC_FIELDS = {"podSelector", "policyTypes", "ingress", "egress"}
_SELECTOR_FIELDS = {"matchLabels", "matchExpressions"}
_EXPR_FIELDS = {"key", "operator", "values"}
_PEER_FIELDS = {"podSelector", "namespaceSelector", "ipBlock"}
_IPBLOCK_FIELDS = {"cidr", "except"}
_PORT_FIELDS = {"protocol", "port", "endPort"}


class _Collector:
    def __init__(self, source: str, obj: str) -> None:
        self.source = source
        self.obj = obj
        self.problems: list[FieldProblem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(FieldProblem(self.source, self.obj, path, message))

    def mapping(self, value: Any, path: str, allowed: set[str]) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.add(path, f"must be a mapping, got {type(value).__name__}")
            return {}
        for key in value:
            if key not in allowed:
                self.add(f"{path}.{key}" if path else str(key), "unknown field")
        return value

    def sequence(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(path, f"must be a list, got {type(value).__name__}")
            return []
        return value


def _selector(c: _Collector, raw: Any, path: str) -> LabelSelector:
    m = c.mapping(raw, path, _SELECTOR_FIELDS)
    raw_labels = m.get("matchLabels")
    keys = set(raw_labels) if isinstance(raw_labels, Mapping) else set()
    labels = c.mapping(raw_labels, f"{path}.matchLabels", keys)
    match_labels = []
    for k, v in labels.items():
        if not is_qualified_name(k):
            c.add(f"{path}.matchLabels", f"invalid label key {k!r}")
        elif not is_label_value(v):
            c.add(f"{path}.matchLabels.{k}", f"invalid label value {v!r}")
        else:
            match_labels.append((k, v))
    exprs = []
    for i, e in enumerate(c.sequence(m.get("matchExpressions"), f"{path}.matchExpressions")):
        ep = f"{path}.matchExpressions[{i}]"
        em = c.mapping(e, ep, _EXPR_FIELDS)
        key, op = em.get("key"), em.get("operator")
        values = c.sequence(em.get("values"), f"{ep}.values")
        if not is_qualified_name(key):
            c.add(f"{ep}.key", f"invalid label key {key!r}")
            continue
        if op not in OPERATORS:
            c.add(f"{ep}.operator", f"{op!r} is not one of {', '.join(OPERATORS)}")
            continue
        if op in ("In", "NotIn") and not values:
            c.add(f"{ep}.values", f"must be non-empty when operator is {op}")
            continue
        if op in ("Exists", "DoesNotExist") and values:
            c.add(f"{ep}.values", f"must be empty when operator is {op}")
            continue
        bad = [v for v in values if not is_label_value(v)]
        if bad:
            c.add(f"{ep}.values", f"invalid label value {bad[0]!r}")
            continue
        exprs.append(Requirement(key, op, tuple(values)))
    return LabelSelector(tuple(sorted(match_labels)), tuple(exprs))


def _cidr(c: _Collector, raw: Any, path: str):
    if not isinstance(raw, str) or "/" not in raw:
        c.add(path, f"{raw!r} is not a CIDR (for one address write /32 or /128)")
        return None
    try:
        return plain_network(raw)
    except ValueError:
        c.add(path, f"{raw!r} is not a valid CIDR" + (" (no IPv6 zone)" if "%" in raw else ""))
        return None


def _ip_block(c: _Collector, raw: Any, path: str) -> IPBlock | None:
    m = c.mapping(raw, path, _IPBLOCK_FIELDS)
    if "cidr" not in m:
        c.add(f"{path}.cidr", "required")
        return None
    cidr = _cidr(c, m["cidr"], f"{path}.cidr")
    excepts = []
    for i, e in enumerate(c.sequence(m.get("except"), f"{path}.except")):
        ex = _cidr(c, e, f"{path}.except[{i}]")
        if ex is None or cidr is None:
            continue
        if ex.version != cidr.version or not ex.subnet_of(cidr) or ex.prefixlen <= cidr.prefixlen:
            c.add(f"{path}.except[{i}]", f"{e} must be a strict subset of cidr {m['cidr']}")
            continue
        excepts.append(ex)
    return IPBlock(cidr, tuple(excepts)) if cidr is not None else None


def _peer(c: _Collector, raw: Any, path: str) -> Peer | None:
    m = c.mapping(raw, path, _PEER_FIELDS)
    # A null field is an unset field, as for the API server's pointer fields.
    present = [k for k in ("podSelector", "namespaceSelector", "ipBlock") if m.get(k) is not None]
    if not present:
        c.add(path, "must specify podSelector, namespaceSelector or ipBlock")
        return None
    if "ipBlock" in present and len(present) > 1:
        c.add(path, "may not specify both ipBlock and another peer (podSelector/namespaceSelector)")
        return None
    if "ipBlock" in present:
        block = _ip_block(c, m["ipBlock"], f"{path}.ipBlock")
        return Peer(ip_block=block) if block else None
    pods = (
        _selector(c, m["podSelector"], f"{path}.podSelector") if "podSelector" in present else None
    )
    nss = (
        _selector(c, m["namespaceSelector"], f"{path}.namespaceSelector")
        if "namespaceSelector" in present
        else None
    )
    return Peer(pod_selector=pods, namespace_selector=nss)


def _port(c: _Collector, raw: Any, path: str) -> PolicyPort | None:
    m = c.mapping(raw, path, _PORT_FIELDS)
    before = len(c.problems)
    proto = m.get("protocol")
    if proto is None:  # defaulted by the API server, also when written as null
        proto = "TCP"
    if proto not in PROTOCOLS:
        c.add(f"{path}.protocol", f"{proto!r} is not one of {', '.join(PROTOCOLS)}")
    port, end = m.get("port"), m.get("endPort")
    if isinstance(port, bool) or (port is not None and not isinstance(port, int | str)):
        c.add(f"{path}.port", f"{port!r} is neither a port number nor a port name")
    elif isinstance(port, int) and not 1 <= port <= 65535:
        c.add(f"{path}.port", f"{port} must be between 1 and 65535")
    elif isinstance(port, str) and not is_service_name(port):
        c.add(f"{path}.port", f"{port!r} is not a valid port name (IANA_SVC_NAME)")
    if end is not None:
        if not isinstance(end, int) or isinstance(end, bool):
            c.add(f"{path}.endPort", f"{end!r} must be an integer")
        elif port is None:
            c.add(f"{path}.endPort", "may not be specified when port is not specified")
        elif isinstance(port, str):
            c.add(f"{path}.endPort", "may not be specified when port is a named port")
        elif isinstance(port, int) and end < port:
            c.add(f"{path}.endPort", f"{end} must be greater than or equal to port {port}")
        elif end > 65535:
            c.add(f"{path}.endPort", f"{end} must be between 1 and 65535")
    if len(c.problems) > before:
        return None
    return PolicyPort(proto, port, end)


def _rules(c: _Collector, raw: Any, path: str, peers_field: str) -> tuple[Rule, ...]:
    rules = []
    for i, r in enumerate(c.sequence(raw, path)):
        rp = f"{path}[{i}]"
        m = c.mapping(r, rp, {peers_field, "ports"})
        peers = [
            _peer(c, p, f"{rp}.{peers_field}[{j}]")
            for j, p in enumerate(c.sequence(m.get(peers_field), f"{rp}.{peers_field}"))
        ]
        ports = [
            _port(c, p, f"{rp}.ports[{j}]")
            for j, p in enumerate(c.sequence(m.get("ports"), f"{rp}.ports"))
        ]
        rules.append(
            Rule(tuple(p for p in peers if p is not None), tuple(p for p in ports if p is not None))
        )
    return tuple(rules)


def _object_name(doc: Mapping[str, Any]) -> str:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
    ns, name = meta.get("namespace"), meta.get("name")
    kind = doc.get("kind") or "object"
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


def parse_policy(
    doc: Any, source: str = "<input>", default_namespace: str | None = None
) -> tuple[NetworkPolicy | None, list[FieldProblem]]:
    """Parse one document. Returns the policy (or None) and every problem found."""
    if not isinstance(doc, Mapping):
        return None, [FieldProblem(source, "", "", "a document must be a mapping")]
    c = _Collector(source, _object_name(doc))
    c.mapping(doc, "", _TOP_FIELDS)
    if doc.get("kind") != "NetworkPolicy":
        c.add("kind", f"must be NetworkPolicy, got {doc.get('kind')!r}")
        return None, c.problems
    if doc.get("apiVersion") != API_VERSION:
        c.add("apiVersion", f"must be {API_VERSION}, got {doc.get('apiVersion')!r}")
    meta = c.mapping(doc.get("metadata"), "metadata", _META_FIELDS)
    name = meta.get("name")
    namespace = meta.get("namespace", default_namespace)
    if not is_dns1123_subdomain(name):
        c.add("metadata.name", f"{name!r} is not a valid name (lowercase DNS subdomain)")
    if namespace is None:
        c.add("metadata.namespace", "required (the oracle never guesses a namespace)")
    elif not is_dns1123_label(namespace):
        c.add("metadata.namespace", f"{namespace!r} is not a valid namespace name")
    if "spec" not in doc:
        c.add("spec", "required")
    spec = c.mapping(doc.get("spec"), "spec", _SPEC_FIELDS)
    pod_selector = _selector(c, spec.get("podSelector"), "spec.podSelector")
    ingress = _rules(c, spec.get("ingress"), "spec.ingress", "from")
    egress = _rules(c, spec.get("egress"), "spec.egress", "to")
    raw_types = c.sequence(spec.get("policyTypes"), "spec.policyTypes")
    types: set[str] = set()
    for i, t in enumerate(raw_types):
        if t not in (INGRESS, EGRESS):
            c.add(f"spec.policyTypes[{i}]", f"{t!r} is not one of Ingress, Egress")
        else:
            types.add(t)
    if len(raw_types) > 2:
        c.add("spec.policyTypes", "may not have more than 2 entries")
    if not raw_types:
        # The API server's default: Ingress always, Egress when there are egress rules.
        types = {INGRESS, EGRESS} if egress else {INGRESS}
    if c.problems:
        return None, c.problems
    policy = NetworkPolicy(
        namespace=namespace,
        name=name,
        pod_selector=pod_selector,
        policy_types=frozenset(types),
        ingress=ingress if INGRESS in types else (),
        egress=egress if EGRESS in types else (),
        source=source,
    )
    return policy, []


def parse_policies(docs: list[tuple[str, Any]]) -> list[NetworkPolicy]:
    """Parse (source, document) pairs; raise one ManifestError listing every problem."""
    problems: list[FieldProblem] = []
    policies: dict[str, NetworkPolicy] = {}
    for source, doc in docs:
        policy, found = parse_policy(doc, source)
        problems.extend(found)
        if policy is None:
            continue
        if policy.key in policies:
            first = policies[policy.key].source
            problems.append(
                FieldProblem(source, f"NetworkPolicy {policy.key}", "", f"also defined in {first}")
            )
            continue
        policies[policy.key] = policy
    if problems:
        raise ManifestError(problems)
    return list(policies.values())
