"""Small builders shared by the oracle tests: topologies, policies and a checked simulator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from netpol_conformance.model.topology import Topology
from netpol_conformance.model.topology_file import topology_from_dict
from netpol_conformance.policy.model import NetworkPolicy
from netpol_conformance.policy.oracle import Matrix, Oracle, Verdict
from netpol_conformance.policy.parse import parse_policies

CellKey = tuple[str, str, int, str]


def netpol(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    """A NetworkPolicy manifest as the API server would receive it."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"podSelector": {}, **spec},
    }


def build(*docs: Mapping[str, Any]) -> list[NetworkPolicy]:
    return parse_policies([("test.yaml", dict(d)) for d in docs])


def cells(matrix: Matrix) -> dict[CellKey, bool]:
    return {(c.src, c.dst, c.port, c.protocol): c.allowed for c in matrix.cells()}


@dataclass
class Sim:
    """An oracle whose answers are always checked: matrix() and explain() must agree."""

    oracle: Oracle
    matrix: Matrix

    def verdict(self, src: str, dst: str, port: int, protocol: str = "TCP") -> Verdict:
        v = self.oracle.explain(src, dst, port, protocol)
        fast = self.matrix.allowed(src, dst, port, protocol)
        assert fast == v.allowed, f"matrix says {fast}, explain says {v.allowed}: {v.reason}"
        return v

    def allowed(self, src: str, dst: str, port: int, protocol: str = "TCP") -> bool:
        return self.verdict(src, dst, port, protocol).allowed

    def reason(self, src: str, dst: str, port: int, protocol: str = "TCP") -> str:
        return self.verdict(src, dst, port, protocol).reason

    def allowed_pairs(self, port: int, protocol: str = "TCP") -> set[tuple[str, str]]:
        return {
            (c.src, c.dst)
            for c in self.matrix.cells()
            if c.port == port and c.protocol == protocol and c.allowed
        }


def simulate(topology: Topology, docs: Iterable[Mapping[str, Any]] = ()) -> Sim:
    oracle = Oracle(topology, build(*docs))
    return Sim(oracle, oracle.matrix())


HTTP = {"name": "http", "port": 80}
DNS = {"name": "dns", "port": 53, "protocol": "UDP"}

# x and y carry team labels, z none. Pod IPs are 10.0.<ns>.<n>; one pod also lives on IPv6.
BASIC: dict[str, Any] = {
    "namespaces": [
        {"name": "x", "labels": {"team": "red"}},
        {"name": "y", "labels": {"team": "blue"}},
        {"name": "z"},
    ],
    "pods": [
        {"namespace": "x", "name": "a", "ip": "10.0.1.1", "labels": {"app": "a"},
         "ports": [HTTP, DNS]},
        {"namespace": "x", "name": "b", "ip": "10.0.1.2", "labels": {"app": "b", "tier": "db"},
         "ports": [HTTP, DNS]},
        {"namespace": "y", "name": "a", "ip": "10.0.2.1", "labels": {"app": "a"},
         "ports": [HTTP, DNS]},
        {"namespace": "y", "name": "b", "ip": "10.0.2.2", "labels": {"app": "b"},
         "ports": [HTTP, DNS]},
        {"namespace": "z", "name": "c", "ip": "fd00::3", "labels": {"app": "c"},
         "ports": [HTTP, DNS]},
    ],
    "externals": [
        {"name": "ext4", "ip": "203.0.113.10", "ports": [{"port": 443}]},
        {"name": "ext6", "ip": "2001:db8::10", "ports": [{"port": 443}]},
    ],
}  # fmt: skip
PODS = ("x/a", "x/b", "y/a", "y/b", "z/c")


def basic() -> Topology:
    return topology_from_dict(BASIC, "basic")


def into(dst: str, sources: Iterable[str] = PODS) -> set[tuple[str, str]]:
    """Every (source, dst) pair from ``sources`` except dst itself."""
    return {(s, dst) for s in sources if s != dst}
