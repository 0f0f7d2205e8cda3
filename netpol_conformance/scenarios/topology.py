"""The catalogue's topology: namespaces x, y and z with pods a, b and c in each.

As upstream's: pods are labelled ``pod=<name>``, namespaces only carry their name label, and
every pod serves the same ports under the same names (``serve-80-tcp``). The addresses here
are the oracle's; a cluster gives its own.
"""

from __future__ import annotations

import ipaddress

from netpol_conformance.model.topology import Namespace, Pod, Port, Topology

NAMESPACES = ("x", "y", "z")
PODS = ("a", "b", "c")
SERVED = tuple(
    Port(number, protocol, f"serve-{number}-{protocol.lower()}")
    for protocol in ("TCP", "UDP", "SCTP")
    for number in (80, 81)
)


def catalogue_topology() -> Topology:
    return Topology(
        namespaces=tuple(Namespace(ns) for ns in NAMESPACES),
        pods=tuple(
            Pod(
                ns,
                pod,
                ipaddress.ip_address(f"10.244.{i + 1}.{j + 10}"),
                {"pod": pod},
                SERVED,
            )
            for i, ns in enumerate(NAMESPACES)
            for j, pod in enumerate(PODS)
        ),
    )


def pod_keys() -> tuple[str, ...]:
    return tuple(f"{ns}/{pod}" for ns in NAMESPACES for pod in PODS)
