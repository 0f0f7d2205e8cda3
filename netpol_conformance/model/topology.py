"""The cluster as the oracle sees it: namespaces, pods, their ports and IPs, external hosts."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from netpol_conformance.errors import FieldProblem, ManifestError

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
PROTOCOLS = ("TCP", "UDP", "SCTP")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Port:
    """A port a destination serves. ``name`` is the container port name (pods only)."""

    port: int
    protocol: str = "TCP"
    name: str | None = None


@dataclass(frozen=True)
class Namespace:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def effective_labels(self) -> dict[str, str]:
        """Labels as the API server stores them: the name label is always set."""
        return {**self.labels, NAMESPACE_NAME_LABEL: self.name}


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    ip: IPAddress
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[Port, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def named_port(self, name: str, protocol: str) -> int | None:
        for p in self.ports:
            if p.name == name and p.protocol == protocol:
                return p.port
        return None


@dataclass(frozen=True)
class External:
    """A host outside the pod network, reachable only through ipBlock rules."""

    name: str
    ip: IPAddress
    ports: tuple[Port, ...] = ()

    @property
    def key(self) -> str:
        return self.name


Endpoint = Pod | External


@dataclass(frozen=True)
class Topology:
    namespaces: tuple[Namespace, ...]
    pods: tuple[Pod, ...]
    externals: tuple[External, ...] = ()

    @cached_property
    def _namespaces_by_name(self) -> dict[str, Namespace]:
        return {ns.name: ns for ns in self.namespaces}

    @cached_property
    def _endpoints_by_key(self) -> dict[str, Endpoint]:
        return {e.key: e for e in reversed(self.endpoints)}  # the first definition wins

    def namespace(self, name: str) -> Namespace:
        """A namespace by name; one not listed exists with no labels but its name."""
        return self._namespaces_by_name.get(name) or Namespace(name)

    def pod(self, key: str) -> Pod:
        found = self._endpoints_by_key.get(key)
        if not isinstance(found, Pod):
            raise KeyError(key)
        return found

    def endpoint(self, key: str) -> Endpoint:
        return self._endpoints_by_key[key]

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return (*self.pods, *self.externals)


def _ports(raw: Any, source: str, obj: str, path: str, problems: list[FieldProblem]) -> tuple:
    out = []
    if raw is not None and not isinstance(raw, list):
        problems.append(FieldProblem(source, obj, path, "must be a list of ports"))
        return ()
    for i, p in enumerate(raw or []):
        where = f"{path}[{i}]"
        if not isinstance(p, Mapping) or not isinstance(p.get("port"), int):
            problems.append(FieldProblem(source, obj, where, "needs an integer 'port'"))
            continue
        proto = p.get("protocol", "TCP")
        if proto not in PROTOCOLS:
            problems.append(
                FieldProblem(source, obj, f"{where}.protocol", f"must be one of {PROTOCOLS}")
            )
            continue
        if not 1 <= p["port"] <= 65535:
            problems.append(FieldProblem(source, obj, f"{where}.port", "must be 1-65535"))
            continue
        out.append(Port(p["port"], proto, p.get("name")))
    return tuple(out)


def _labels(
    raw: Any, source: str, obj: str, path: str, problems: list[FieldProblem]
) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        problems.append(FieldProblem(source, obj, path, "must map label names to strings"))
        return {}
    return dict(raw)


def _ip(raw: Any, source: str, obj: str, path: str, problems: list[FieldProblem]):
    try:
        return ipaddress.ip_address(str(raw))
    except ValueError:
        problems.append(FieldProblem(source, obj, path, f"{raw!r} is not an IP address"))
        return None


def topology_from_dict(data: Any, source: str = "<topology>") -> Topology:
    """Build a topology from the documented YAML shape, reporting every problem at once."""
    problems: list[FieldProblem] = []
    if not isinstance(data, Mapping):
        raise ManifestError([FieldProblem(source, "", "", "the topology must be a mapping")])
    unknown = set(data) - {"namespaces", "pods", "externals"}
    for k in sorted(unknown):
        problems.append(FieldProblem(source, "", k, "unknown field"))
    namespaces = [
        Namespace(
            n["name"],
            _labels(n.get("labels"), source, f"namespace {n['name']}", "labels", problems),
        )
        for n in data.get("namespaces") or []
        if isinstance(n, Mapping) and "name" in n
    ]
    known = {n.name for n in namespaces}
    pods: list[Pod] = []
    for i, p in enumerate(data.get("pods") or []):
        obj = f"pods[{i}]"
        if not isinstance(p, Mapping) or "name" not in p or "namespace" not in p:
            problems.append(FieldProblem(source, obj, "", "needs 'namespace' and 'name'"))
            continue
        obj = f"pod {p['namespace']}/{p['name']}"
        ip = _ip(p.get("ip"), source, obj, "ip", problems)
        ports = _ports(p.get("ports"), source, obj, "ports", problems)
        labels = _labels(p.get("labels"), source, obj, "labels", problems)
        if p["namespace"] not in known:
            namespaces.append(Namespace(p["namespace"]))
            known.add(p["namespace"])
        if ip is not None:
            pods.append(Pod(p["namespace"], p["name"], ip, labels, ports))
    externals: list[External] = []
    for i, e in enumerate(data.get("externals") or []):
        obj = f"externals[{i}]"
        if not isinstance(e, Mapping) or "name" not in e:
            problems.append(FieldProblem(source, obj, "", "needs a 'name'"))
            continue
        ip = _ip(e.get("ip"), source, f"external {e['name']}", "ip", problems)
        ports = _ports(e.get("ports"), source, f"external {e['name']}", "ports", problems)
        if ip is not None:
            externals.append(External(e["name"], ip, ports))
    keys = [x.key for x in (*pods, *externals)]
    for k in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(FieldProblem(source, k, "", "is defined more than once"))
    if problems:
        raise ManifestError(problems)
    return Topology(tuple(namespaces), tuple(pods), tuple(externals))


def load_topology(path: str | Path) -> Topology:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ManifestError(
            [FieldProblem(str(path), "", "", f"cannot read: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError as exc:
        raise ManifestError([FieldProblem(str(path), "", "", f"cannot read: {exc}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ManifestError([FieldProblem(str(path), "", "", f"not valid YAML: {exc}")]) from None
    return topology_from_dict(data, str(path))
