"""The oracle: which connections a set of NetworkPolicies allows, and why.

Two implementations of the same semantics live here on purpose:

* :meth:`Oracle.matrix` answers every (source pod, destination, port) at once with set algebra
  over pod indices (numpy boolean arrays). Pods that are selected by the same policies share one
  computed row, so the cost grows with the number of distinct policy combinations, not pairs.
* :meth:`Oracle.explain` walks the rules for one connection and says which policies selected
  each side and which rule (or none) allowed it.

The tests check that both always agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from netpol_conformance.model.topology import Endpoint, Pod, Topology
from netpol_conformance.policy.model import (
    EGRESS,
    INGRESS,
    LabelSelector,
    NetworkPolicy,
    Peer,
    PolicyPort,
    Rule,
)

PortKey = tuple[int, str]  # (port, protocol)


# --- scalar semantics (one connection) ---------------------------------------------------------


def selects(policy: NetworkPolicy, pod: Pod) -> bool:
    """A policy selects pods of its own namespace that match its podSelector."""
    return pod.namespace == policy.namespace and policy.pod_selector.matches(pod.labels)


def peer_matches(peer: Peer, policy_ns: str, endpoint: Endpoint, topology: Topology) -> bool:
    if peer.ip_block is not None:
        return peer.ip_block.contains(endpoint.ip)
    if not isinstance(endpoint, Pod):
        return False  # selectors only ever match pods
    if peer.namespace_selector is None:
        in_namespace = endpoint.namespace == policy_ns
    else:
        ns_labels = topology.namespace(endpoint.namespace).effective_labels
        in_namespace = peer.namespace_selector.matches(ns_labels)
    pod_ok = peer.pod_selector is None or peer.pod_selector.matches(endpoint.labels)
    return in_namespace and pod_ok


def port_matches(pp: PolicyPort, dst: Endpoint, port: int, protocol: str) -> bool:
    if pp.protocol != protocol:
        return False
    if pp.port is None:
        return True
    if isinstance(pp.port, str):
        # Named ports resolve against the destination pod's container ports.
        return isinstance(dst, Pod) and dst.named_port(pp.port, protocol) == port
    if pp.end_port is not None:
        return pp.port <= port <= pp.end_port
    return pp.port == port


def rule_allows(
    rule: Rule,
    policy_ns: str,
    peer: Endpoint,
    dst: Endpoint,
    port: int,
    protocol: str,
    topology: Topology,
) -> bool:
    peers_ok = not rule.peers or any(peer_matches(p, policy_ns, peer, topology) for p in rule.peers)
    ports_ok = not rule.ports or any(port_matches(pp, dst, port, protocol) for pp in rule.ports)
    return peers_ok and ports_ok


@dataclass(frozen=True)
class DirectionVerdict:
    """One direction of a connection: who isolates it and what (if anything) allows it."""

    direction: str
    subject: str
    selected_by: tuple[str, ...]  # policies of this direction that select the subject
    allowed_by: tuple[str, ...]  # "ns/policy ingress[i]" for every rule that allows it
    applicable: bool = True  # False: externals have no ingress policies

    @property
    def allowed(self) -> bool:
        return not self.applicable or not self.selected_by or bool(self.allowed_by)

    def __str__(self) -> str:
        d = self.direction.lower()
        if not self.applicable:
            return f"{d}: not governed ({self.subject} is outside the cluster)"
        if not self.selected_by:
            return f"{d}: open ({self.subject} is selected by no {self.direction} policy)"
        sel = ", ".join(self.selected_by)
        if self.allowed_by:
            rules = ", ".join(self.allowed_by)
            return f"{d}: allowed by {rules} ({self.subject} is selected by {sel})"
        return f"{d}: denied ({self.subject} is isolated by {sel} and no rule allows it)"


@dataclass(frozen=True)
class Verdict:
    src: str
    dst: str
    port: int
    protocol: str
    egress: DirectionVerdict
    ingress: DirectionVerdict

    @property
    def allowed(self) -> bool:
        return self.egress.allowed and self.ingress.allowed

    @property
    def reason(self) -> str:
        return f"{self.egress}; {self.ingress}"


# --- the oracle ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    src: str
    dst: str
    port: int
    protocol: str
    allowed: bool


class Matrix:
    """Allowed connections for every source pod x destination x declared port."""

    def __init__(
        self,
        topology: Topology,
        keys: Sequence[PortKey],
        allowed: dict[PortKey, np.ndarray],
        valid: dict[PortKey, np.ndarray],
    ) -> None:
        self.topology = topology
        self.keys = tuple(keys)
        self._allowed = allowed  # key -> bool[n_pods, n_endpoints]
        self._valid = valid  # key -> bool[n_pods, n_endpoints]: declared port, not self
        self._index = {e.key: i for i, e in enumerate(topology.endpoints)}

    @property
    def verdict_count(self) -> int:
        return int(sum(int(v.sum()) for v in self._valid.values()))

    @property
    def allowed_count(self) -> int:
        return int(sum(int((self._allowed[k] & self._valid[k]).sum()) for k in self.keys))

    def allowed_mask(self, key: PortKey) -> np.ndarray:
        """allowed[s, d] for source pod s and endpoint d (read-only; meaningful where valid)."""
        return _read_only(self._allowed[key])

    def valid_mask(self, key: PortKey) -> np.ndarray:
        """valid[s, d]: endpoint d declares ``key`` and is not s itself (read-only)."""
        return _read_only(self._valid[key])

    def allowed(self, src: str, dst: str, port: int, protocol: str = "TCP") -> bool:
        key = (port, protocol)
        s, d = self._index[src], self._index[dst]
        if key not in self._allowed or not self._valid[key][s, d]:
            raise KeyError(f"{dst} does not serve {port}/{protocol} (or {src} is {dst})")
        return bool(self._allowed[key][s, d])

    def cells(self) -> Iterator[Cell]:
        endpoints = self.topology.endpoints
        for s, src in enumerate(self.topology.pods):
            for d, dst in enumerate(endpoints):
                # A port number may be declared twice (under two names): one verdict each.
                for key in dict.fromkeys((p.port, p.protocol) for p in dst.ports):
                    if self._valid[key][s, d]:
                        yield Cell(src.key, dst.key, *key, bool(self._allowed[key][s, d]))


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class Oracle:
    def __init__(self, topology: Topology, policies: Sequence[NetworkPolicy]) -> None:
        self.topology = topology
        self.policies = tuple(sorted(policies, key=lambda p: p.key))
        self._pods = topology.pods
        self._endpoints = topology.endpoints
        self._n = len(self._pods)
        self._m = len(self._endpoints)
        self._ns = np.array([p.namespace for p in self._pods], dtype=object)
        self._label_cache: dict[LabelSelector, np.ndarray] = {}
        self._ns_cache: dict[LabelSelector, np.ndarray] = {}
        self._ns_mask_cache: dict[str, np.ndarray] = {}

    # ---- one connection, with its reasons

    def _direction(self, direction: str, subject: Endpoint, peer: Endpoint, dst: Endpoint,
                   port: int, protocol: str) -> DirectionVerdict:  # fmt: skip
        if not isinstance(subject, Pod):
            return DirectionVerdict(direction, subject.key, (), (), applicable=False)
        selecting = [
            p for p in self.policies if direction in p.policy_types and selects(p, subject)
        ]
        allowed_by = tuple(
            f"{p.key} {direction.lower()}[{i}]"
            for p in selecting
            for i, rule in enumerate(p.rules(direction))
            if rule_allows(rule, p.namespace, peer, dst, port, protocol, self.topology)
        )
        return DirectionVerdict(direction, subject.key, tuple(p.key for p in selecting), allowed_by)

    def explain(self, src: str, dst: str, port: int, protocol: str = "TCP") -> Verdict:
        s = self.topology.pod(src)
        d = self.topology.endpoint(dst)
        return Verdict(
            src,
            dst,
            port,
            protocol,
            egress=self._direction(EGRESS, s, d, d, port, protocol),
            ingress=self._direction(INGRESS, d, s, d, port, protocol),
        )

    # ---- the whole matrix

    def _labels_match(self, selector: LabelSelector) -> np.ndarray:
        if selector not in self._label_cache:
            self._label_cache[selector] = np.fromiter(
                (selector.matches(p.labels) for p in self._pods), bool, self._n
            )
        return self._label_cache[selector]

    def _namespaces_match(self, selector: LabelSelector) -> np.ndarray:
        if selector not in self._ns_cache:
            ok = {
                ns: selector.matches(self.topology.namespace(ns).effective_labels)
                for ns in set(self._ns)
            }
            self._ns_cache[selector] = np.fromiter((ok[ns] for ns in self._ns), bool, self._n)
        return self._ns_cache[selector]

    def _in_namespace(self, namespace: str) -> np.ndarray:
        if namespace not in self._ns_mask_cache:
            self._ns_mask_cache[namespace] = self._ns == namespace
        return self._ns_mask_cache[namespace]

    def _selected(self, policy: NetworkPolicy) -> np.ndarray:
        return self._in_namespace(policy.namespace) & self._labels_match(policy.pod_selector)

    def _peer_mask(self, peer: Peer, policy_ns: str) -> np.ndarray:
        """Endpoints (pods, then externals) that a peer matches."""
        out = np.zeros(self._m, bool)
        if peer.ip_block is not None:
            block = peer.ip_block
            out[:] = [block.contains(e.ip) for e in self._endpoints]
            return out
        pods = (
            self._labels_match(peer.pod_selector)
            if peer.pod_selector is not None
            else np.ones(self._n, bool)
        )
        if peer.namespace_selector is None:
            pods = pods & self._in_namespace(policy_ns)
        else:
            pods = pods & self._namespaces_match(peer.namespace_selector)
        out[: self._n] = pods
        return out

    def _rule_peers(self, rule: Rule, policy_ns: str) -> np.ndarray:
        if not rule.peers:
            return np.ones(self._m, bool)
        out = np.zeros(self._m, bool)
        for peer in rule.peers:
            out |= self._peer_mask(peer, policy_ns)
        return out

    def _rule_ports(self, rule: Rule, key: PortKey) -> np.ndarray:
        """Destinations for which the rule's ports admit ``key``."""
        if not rule.ports:
            return np.ones(self._m, bool)
        out = np.zeros(self._m, bool)
        port, protocol = key
        for pp in rule.ports:
            if pp.protocol != protocol:
                continue
            if isinstance(pp.port, str):
                for i, pod in enumerate(self._pods):
                    if pod.named_port(pp.port, protocol) == port:
                        out[i] = True
            elif pp.port is None or (
                pp.port <= port <= (pp.end_port if pp.end_port is not None else pp.port)
            ):
                return np.ones(self._m, bool)
        return out

    def matrix(self) -> Matrix:
        n, m = self._n, self._m
        keys = sorted({(p.port, p.protocol) for e in self._endpoints for p in e.ports})
        valid: dict[PortKey, np.ndarray] = {}
        for key in keys:
            declared = np.fromiter((any((p.port, p.protocol) == key for p in e.ports)
                                    for e in self._endpoints), bool, m)  # fmt: skip
            v = np.broadcast_to(declared, (n, m)).copy()
            v[np.arange(n), np.arange(n)] = False  # a pod is never its own destination
            valid[key] = v

        compiled: dict[str, list[tuple[NetworkPolicy, list[tuple[Rule, np.ndarray]]]]] = {}
        for direction in (INGRESS, EGRESS):
            compiled[direction] = [
                (p, [(r, self._rule_peers(r, p.namespace)) for r in p.rules(direction)])
                for p in self.policies
                if direction in p.policy_types
            ]
        port_cache: dict[tuple[int, PortKey], np.ndarray] = {}

        def ports_of(rule: Rule, key: PortKey) -> np.ndarray:
            ck = (id(rule), key)
            if ck not in port_cache:
                port_cache[ck] = self._rule_ports(rule, key)
            return port_cache[ck]

        def groups(direction: str) -> dict[tuple[int, ...], list[int]]:
            """Pods grouped by the exact set of policies of ``direction`` that select them."""
            entries = compiled[direction]
            if not entries or n == 0:
                return {(): list(range(n))}
            sel = np.stack([self._selected(p) for p, _ in entries])  # [policies, pods]
            out: dict[tuple[int, ...], list[int]] = defaultdict(list)
            for i in range(n):
                out[tuple(np.flatnonzero(sel[:, i]).tolist())].append(i)
            return out

        ingress_groups = groups(INGRESS)
        egress_groups = groups(EGRESS)
        allowed: dict[PortKey, np.ndarray] = {}
        for key in keys:
            # ingress[d, s]: destination d admits source s. Externals admit everyone.
            ingress = np.ones((m, n), bool)
            for members, idx in ingress_groups.items():
                if not members:
                    continue
                row_ports: dict[tuple[int, ...], np.ndarray] = {}
                for d in idx:
                    # Named ports make the row depend on the destination's own ports.
                    sig = tuple(
                        bool(ports_of(r, key)[d])
                        for j in members
                        for r, _ in compiled[INGRESS][j][1]
                    )
                    if sig not in row_ports:
                        row = np.zeros(n, bool)
                        flat = [peers for j in members for _, peers in compiled[INGRESS][j][1]]
                        for ok, peers in zip(sig, flat, strict=True):
                            if ok:
                                row |= peers[:n]
                        row_ports[sig] = row
                    ingress[d] = row_ports[sig]
            # egress[s, d]: source s may send to destination d.
            egress = np.ones((n, m), bool)
            for members, idx in egress_groups.items():
                if not members:
                    continue
                row = np.zeros(m, bool)
                for j in members:
                    for r, peers in compiled[EGRESS][j][1]:
                        row |= peers & ports_of(r, key)
                egress[idx] = row
            allowed[key] = egress & ingress.T
        return Matrix(self.topology, keys, allowed, valid)
