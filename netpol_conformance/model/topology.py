"""The cluster as the oracle sees it: namespaces, pods, their ports and IPs, external hosts.

Topology files are read and validated by :mod:`netpol_conformance.model.topology_file`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

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


def cluster_dns_pod(ip: IPAddress, name: str = "coredns") -> Pod:
    """The cluster's DNS server as policies see it: a ``k8s-app=kube-dns`` pod in
    ``kube-system`` answering on 53/UDP and 53/TCP (what the tutorial's DNS rules select)."""
    return Pod(
        "kube-system",
        name,
        ip,
        {"k8s-app": "kube-dns"},
        (Port(53, "UDP", "dns"), Port(53, "TCP", "dns-tcp")),
    )
