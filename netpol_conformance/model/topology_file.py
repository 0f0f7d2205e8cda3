"""Read a topology file and validate it as strictly as the API server validates manifests.

The shape::

    namespaces:                # optional: a pod's namespace exists even when it is not listed
      - name: frontend         # a namespace name, listed once
        labels: {team: web}
    pods:
      - namespace: frontend
        name: web              # unique in its namespace
        ip: 10.244.1.7         # unique across pods and externals
        labels: {app: web}
        ports:                 # protocol defaults to TCP; a port name is used once per pod
          - {port: 80, protocol: TCP, name: http}
    externals:                 # hosts outside the pod network, reached only through ipBlock rules
      - name: db
        ip: 192.0.2.10
        ports: [{port: 5432}]

Every problem is reported at once, each with its file, object and field path (``pods[3].ip``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from netpol_conformance import strict_yaml
from netpol_conformance.errors import FieldProblem, ManifestError
from netpol_conformance.model.names import (
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_value,
    is_qualified_name,
    is_service_name,
)
from netpol_conformance.model.topology import (
    NAMESPACE_NAME_LABEL,
    PROTOCOLS,
    External,
    IPAddress,
    Namespace,
    Pod,
    Port,
    Topology,
)
from netpol_conformance.strict_yaml import describe

TOP_FIELDS = ("namespaces", "pods", "externals")
NAMESPACE_FIELDS = ("name", "labels")
POD_FIELDS = ("namespace", "name", "ip", "labels", "ports")
EXTERNAL_FIELDS = ("name", "ip", "ports")
POD_PORT_FIELDS = ("port", "protocol", "name")
EXTERNAL_PORT_FIELDS = ("port", "protocol")  # externals have no container ports to name


class _Reader:
    """Collects problems of one file; each check returns None when it reported one."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[FieldProblem] = []

    def add(self, obj: str, path: str, message: str) -> None:
        self.problems.append(FieldProblem(self.source, obj, path, message))

    def sequence(self, raw: Any, obj: str, path: str) -> list[Any]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.add(obj, path, f"must be a list, got {describe(raw)}")
            return []
        return raw

    def fields(self, raw: Mapping[Any, Any], obj: str, path: str, known: Sequence[str]) -> None:
        for key in raw:
            if key not in known:
                where = f"{path}.{key}" if path else str(key)
                self.add(obj, where, f"unknown field (expected {', '.join(known)})")

    def labels(self, raw: Any, obj: str, path: str) -> dict[str, str] | None:
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.add(obj, path, f"must map label names to values, got {describe(raw)}")
            return None
        ok = True
        for key, value in raw.items():
            if not is_qualified_name(key):
                self.add(obj, path, f"{key!r} is not a valid label name")
                ok = False
            elif not isinstance(value, str):
                self.add(obj, f"{path}.{key}", f"must be a string, got {describe(value)}: quote it")
                ok = False
            elif not is_label_value(value):
                self.add(obj, f"{path}.{key}", f"{value!r} is not a valid label value")
                ok = False
        return dict(raw) if ok else None

    def ip(self, raw: Any, obj: str, path: str) -> IPAddress | None:
        if raw is None:
            self.add(obj, path, "required")
            return None
        if not isinstance(raw, str):
            self.add(obj, path, f"must be an IP address, got {describe(raw)}")
            return None
        try:
            ip = ipaddress.ip_address(raw)
        except ValueError:
            self.add(obj, path, f"{raw!r} is not an IP address")
            return None
        if ip.is_unspecified or ip.is_multicast:
            self.add(obj, path, f"{raw} cannot be the address of a host")
            return None
        return ip

    def ports(self, raw: Any, obj: str, path: str, known: Sequence[str]) -> tuple[Port, ...] | None:
        before = len(self.problems)
        out: list[Port] = []
        named: dict[str, str] = {}
        for i, entry in enumerate(self.sequence(raw, obj, path)):
            where = f"{path}[{i}]"
            if not isinstance(entry, Mapping):
                got = describe(entry)
                self.add(obj, where, f"must be a mapping such as {{port: 80}}, got {got}")
                continue
            start = len(self.problems)
            self.fields(entry, obj, where, known)
            port = entry.get("port")
            if port is None:
                self.add(obj, f"{where}.port", "required")
            elif isinstance(port, bool) or not isinstance(port, int):
                self.add(obj, f"{where}.port", f"must be a port number, got {describe(port)}")
            elif not 1 <= port <= 65535:
                self.add(obj, f"{where}.port", f"{port} is not between 1 and 65535")
            protocol = entry.get("protocol")
            if protocol is None:  # defaulted, as the API server does
                protocol = "TCP"
            elif protocol not in PROTOCOLS:
                self.add(
                    obj, f"{where}.protocol", f"{protocol!r} is not one of {', '.join(PROTOCOLS)}"
                )
            name = entry.get("name")
            if name is not None and not is_service_name(name):
                self.add(
                    obj,
                    f"{where}.name",
                    f"{name!r} is not a valid port name (1-15 lowercase letters, digits or '-', "
                    "with a letter)",
                )
            elif name is not None and name in named:
                message = f"port name {name!r} is already used by {named[name]}"
                self.add(obj, f"{where}.name", message)
            elif name is not None:
                named[name] = where
            if len(self.problems) == start:
                out.append(Port(port, protocol, name))
        return tuple(out) if len(self.problems) == before else None


def _name_problem(kind: str, value: Any, valid: bool) -> str | None:
    if value is None:
        return "required"
    if not isinstance(value, str):
        return f"must be a {kind} name, got {describe(value)}"
    if not valid:
        rule = "at most 63" if kind == "namespace" else "dot-separated, at most 253"
        return (
            f"{value!r} is not a valid {kind} name "
            f"(lowercase letters, digits and '-', {rule} characters)"
        )
    return None


def _namespaces(r: _Reader, raw: Any) -> list[Namespace]:
    out: list[Namespace] = []
    first: dict[str, str] = {}
    for i, entry in enumerate(r.sequence(raw, "", "namespaces")):
        path = f"namespaces[{i}]"
        if isinstance(entry, str):
            r.add("", path, f"must be a mapping such as {{name: {entry}}}, got {describe(entry)}")
            continue
        if not isinstance(entry, Mapping):
            r.add("", path, f"must be a mapping with a name, got {describe(entry)}")
            continue
        name = entry.get("name")
        obj = f"namespace {name}" if isinstance(name, str) else ""
        before = len(r.problems)
        r.fields(entry, obj, path, NAMESPACE_FIELDS)
        problem = _name_problem("namespace", name, is_dns1123_label(name))
        if problem:
            r.add(obj, f"{path}.name", problem)
        elif name in first:
            r.add(obj, f"{path}.name", f"namespace {name} is already defined at {first[name]}")
        else:
            first[name] = path
        labels = r.labels(entry.get("labels"), obj, f"{path}.labels")
        given = (labels or {}).get(NAMESPACE_NAME_LABEL, name)
        if given != name:
            r.add(
                obj,
                f"{path}.labels.{NAMESPACE_NAME_LABEL}",
                f"is always the namespace's own name ({name!r}), not {given!r}",
            )
        if len(r.problems) == before and labels is not None:
            out.append(Namespace(name, labels))
    return out


class _Addresses:
    """Who holds which IP address, so that a second holder is reported with the first."""

    def __init__(self, r: _Reader) -> None:
        self.r = r
        self.holders: dict[IPAddress, str] = {}

    def claim(self, ip: IPAddress, holder: str, obj: str, path: str) -> bool:
        if ip in self.holders:
            self.r.add(obj, path, f"{ip} is already the address of {self.holders[ip]}")
            return False
        self.holders[ip] = holder
        return True


def _pods(r: _Reader, raw: Any, addresses: _Addresses) -> list[Pod]:
    out: list[Pod] = []
    first: dict[str, str] = {}
    for i, entry in enumerate(r.sequence(raw, "", "pods")):
        path = f"pods[{i}]"
        if not isinstance(entry, Mapping):
            r.add("", path, f"must be a mapping with namespace, name and ip, got {describe(entry)}")
            continue
        ns, name = entry.get("namespace"), entry.get("name")
        obj = f"pod {ns}/{name}" if isinstance(ns, str) and isinstance(name, str) else ""
        before = len(r.problems)
        r.fields(entry, obj, path, POD_FIELDS)
        ns_problem = _name_problem("namespace", ns, is_dns1123_label(ns))
        if ns_problem:
            r.add(obj, f"{path}.namespace", ns_problem)
        name_problem = _name_problem("pod", name, is_dns1123_subdomain(name))
        key = f"{ns}/{name}"
        if name_problem:
            r.add(obj, f"{path}.name", name_problem)
        elif not ns_problem and key in first:
            r.add(obj, f"{path}.name", f"pod {key} is already defined at {first[key]}")
        elif not ns_problem:
            first[key] = path
        ip = r.ip(entry.get("ip"), obj, f"{path}.ip")
        if ip is not None:
            addresses.claim(ip, f"{obj or 'a pod'} ({path})", obj, f"{path}.ip")
        labels = r.labels(entry.get("labels"), obj, f"{path}.labels")
        ports = r.ports(entry.get("ports"), obj, f"{path}.ports", POD_PORT_FIELDS)
        if len(r.problems) == before and ip and labels is not None and ports is not None:
            out.append(Pod(ns, name, ip, labels, ports))
    return out


def _externals(r: _Reader, raw: Any, addresses: _Addresses) -> list[External]:
    out: list[External] = []
    first: dict[str, str] = {}
    for i, entry in enumerate(r.sequence(raw, "", "externals")):
        path = f"externals[{i}]"
        if not isinstance(entry, Mapping):
            r.add("", path, f"must be a mapping with a name and an ip, got {describe(entry)}")
            continue
        name = entry.get("name")
        obj = f"external {name}" if isinstance(name, str) else ""
        before = len(r.problems)
        r.fields(entry, obj, path, EXTERNAL_FIELDS)
        problem = _name_problem("host", name, is_dns1123_subdomain(name))
        if problem:
            r.add(obj, f"{path}.name", problem)
        elif name in first:
            r.add(obj, f"{path}.name", f"external {name} is already defined at {first[name]}")
        else:
            first[name] = path
        ip = r.ip(entry.get("ip"), obj, f"{path}.ip")
        if ip is not None:
            addresses.claim(ip, f"{obj or 'an external'} ({path})", obj, f"{path}.ip")
        ports = r.ports(entry.get("ports"), obj, f"{path}.ports", EXTERNAL_PORT_FIELDS)
        if len(r.problems) == before and ip and ports is not None:
            out.append(External(name, ip, ports))
    return out


def topology_from_dict(data: Any, source: str = "<topology>") -> Topology:
    """Build a topology from the documented shape; raise one ManifestError listing every problem.

    A namespace that a pod names but the file does not list exists with no labels but its name.
    """
    r = _Reader(source)
    if data is None:
        r.add("", "", "the topology is empty: list its namespaces, pods and externals")
    elif not isinstance(data, Mapping):
        r.add("", "", f"must be a mapping of {', '.join(TOP_FIELDS)}, got {describe(data)}")
    if r.problems:
        raise ManifestError(r.problems, "the topology")
    r.fields(data, "", "", TOP_FIELDS)
    namespaces = _namespaces(r, data.get("namespaces"))
    addresses = _Addresses(r)
    pods = _pods(r, data.get("pods"), addresses)
    externals = _externals(r, data.get("externals"), addresses)
    if r.problems:
        raise ManifestError(r.problems, "the topology")
    listed = {n.name for n in namespaces}
    for ns in dict.fromkeys(p.namespace for p in pods):
        if ns not in listed:
            namespaces.append(Namespace(ns))
    return Topology(tuple(namespaces), tuple(pods), tuple(externals))


def load_topology(path: str | Path) -> Topology:
    """Read and validate a topology file (YAML, one document)."""
    source = str(path)

    def fail(message: str, where: str = source) -> ManifestError:
        return ManifestError([FieldProblem(where, "", "", message)], "the topology")

    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"cannot read: not UTF-8 text (byte {exc.start})") from None
    try:
        data = strict_yaml.load(text)
    except yaml.YAMLError as exc:
        line, message = strict_yaml.explain(exc)
        raise fail(f"not valid YAML: {message}", f"{source}:{line}" if line else source) from None
    return topology_from_dict(data, source)
