"""Short builders for NetworkPolicy manifests, so that a scenario reads like its spec.

Each returns the plain Kubernetes object (a dict) the cluster is given; nothing here knows the
oracle. ``peer(pods={"pod": "b"}, ns={...})`` is one peer (pod AND namespace); a rule with two
peers is their OR. An address is written ``"{x/a}/32"``: the network of the pod's address is put in
when the policy is rendered for a cluster (``render_addresses``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Doc = dict[str, Any]
NS_NAME = "kubernetes.io/metadata.name"


def expr(key: str, operator: str, values: Sequence[str] = ()) -> Doc:
    out: Doc = {"key": key, "operator": operator}
    if operator in ("In", "NotIn"):
        out["values"] = list(values)
    return out


def ns_named(*names: str, operator: str | None = None) -> Doc:
    """A namespace selector on the name label every namespace carries: matchLabels for one
    name, matchExpressions with ``operator`` (In, NotIn) otherwise."""
    if operator is None and len(names) == 1:
        return {"matchLabels": {NS_NAME: names[0]}}
    return {"matchExpressions": [expr(NS_NAME, operator or "In", names)]}


def peer(
    pods: Doc | Mapping[str, str] | None = None,
    ns: Doc | None = None,
    cidr: str | None = None,
    except_: Sequence[str] = (),
) -> Doc:
    """One peer. ``pods`` given as plain labels becomes matchLabels; ``{}`` selects all."""
    if cidr is not None:
        block: Doc = {"cidr": cidr}
        if except_:
            block["except"] = list(except_)
        return {"ipBlock": block}
    out: Doc = {}
    if pods is not None:
        out["podSelector"] = _as_selector(pods)
    if ns is not None:
        out["namespaceSelector"] = ns
    return out


def port(
    number: int | str | None = None, protocol: str | None = "TCP", end: int | None = None
) -> Doc:
    out: Doc = {}
    if protocol is not None:
        out["protocol"] = protocol
    if number is not None:
        out["port"] = number
    if end is not None:
        out["endPort"] = end
    return out


def rule(
    peers: Sequence[Doc] | None = None, ports: Sequence[Doc] | None = None, *, to: bool = False
) -> Doc:
    """An ingress rule (``from``) or, with ``to=True``, an egress rule."""
    out: Doc = {}
    if peers is not None:
        out["to" if to else "from"] = list(peers)
    if ports is not None:
        out["ports"] = list(ports)
    return out


def policy(
    namespace: str,
    name: str,
    select: Doc | Mapping[str, str] | None = None,
    ingress: Sequence[Doc] | None = None,
    egress: Sequence[Doc] | None = None,
    types: Sequence[str] | None = None,
) -> Doc:
    """A NetworkPolicy in ``namespace`` selecting ``select`` (None or ``{}``: every pod).
    ``types`` defaults to the directions given rules (an empty list is a deny)."""
    spec: Doc = {"podSelector": _as_selector(select or {})}
    if ingress is not None:
        spec["ingress"] = list(ingress)
    if egress is not None:
        spec["egress"] = list(egress)
    if types is None:
        types = [t for t, rules in (("Ingress", ingress), ("Egress", egress)) if rules is not None]
    spec["policyTypes"] = list(types)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def _as_selector(value: Doc | Mapping[str, str]) -> Doc:
    if not value or "matchLabels" in value or "matchExpressions" in value:
        return dict(value)
    return {"matchLabels": dict(value)}


_ADDRESS = re.compile(r"\{([a-z0-9-]+/[a-z0-9-]+)\}/(\d+)")


def render_addresses(doc: Any, address_of: Callable[[str], str]) -> Any:
    """The document with every ``{ns/pod}/N`` in a string replaced by the network of that pod's
    address with an N-bit prefix (``/32``: the pod alone)."""
    if isinstance(doc, dict):
        return {k: render_addresses(v, address_of) for k, v in doc.items()}
    if isinstance(doc, list):
        return [render_addresses(v, address_of) for v in doc]
    if isinstance(doc, str):
        return _ADDRESS.sub(lambda m: _network(address_of(m.group(1)), m.group(2)), doc)
    return doc


def _network(address: str, bits: str) -> str:
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))
