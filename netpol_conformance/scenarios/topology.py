"""The catalogue's topology: namespaces x, y and z with pods a, b and c in each.

As upstream's: pods are labelled ``pod=<name>``, namespaces only carry their name label, and
every pod serves the same ports under the same names (``serve-80-tcp``): TCP 80 to 84 (84 one
past the ``endPort`` range 81-83), UDP and SCTP 80 and 81. Beyond upstream, the name ``web``
means 81 on pod a and 80 on the others. The addresses here are the oracle's; a cluster gives
its own.
"""

from __future__ import annotations

import ipaddress

from netpol_conformance.model.topology import Namespace, Pod, Port, Topology

NAMESPACES = ("x", "y", "z")
PODS = ("a", "b", "c")
SERVED = tuple(
    Port(number, protocol, f"serve-{number}-{protocol.lower()}")
    for protocol, numbers in (("TCP", (80, 81, 82, 83, 84)), ("UDP", (80, 81)), ("SCTP", (80, 81)))
    for number in numbers
)
# A name that means a different number on different pods: 81 on pod a, 80 on b and c. A CNI
# that resolves it on the wrong pod (the client, or only one pod) opens the wrong port.
WEB = "web"


def web_port(pod: str) -> Port:
    return Port(81 if pod == "a" else 80, "TCP", WEB)


def catalogue_pod(namespace: str, name: str, index: int, labels: dict[str, str]) -> Pod:
    """A pod of the catalogue: its labels, every served port and ``web``."""
    ns_index = NAMESPACES.index(namespace) + 1
    return Pod(
        namespace,
        name,
        ipaddress.ip_address(f"10.244.{ns_index}.{index + 10}"),
        labels,
        (*SERVED, web_port(name)),
    )


def catalogue_topology() -> Topology:
    return Topology(
        namespaces=tuple(Namespace(ns) for ns in NAMESPACES),
        pods=tuple(
            catalogue_pod(ns, pod, j, {"pod": pod})
            for ns in NAMESPACES
            for j, pod in enumerate(PODS)
        ),
    )


def pod_keys() -> tuple[str, ...]:
    return tuple(f"{ns}/{pod}" for ns in NAMESPACES for pod in PODS)
