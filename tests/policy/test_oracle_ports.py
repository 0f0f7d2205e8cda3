"""Ports: numbers, names, ranges, protocols, and rules without ports."""

from __future__ import annotations

from typing import Any

from policy_helpers import netpol, simulate

from netpol_conformance.model.topology import Topology
from netpol_conformance.model.topology_file import topology_from_dict

# "web" is a named port whose number differs per pod; "dns" exists as UDP only on s1.
TOPOLOGY: dict[str, Any] = {
    "pods": [
        {"namespace": "n", "name": "client", "ip": "10.0.0.1", "ports": [{"port": 80}]},
        {"namespace": "n", "name": "s1", "ip": "10.0.0.2", "labels": {"role": "server"},
         "ports": [{"name": "web", "port": 8080}, {"port": 8081}, {"port": 9000},
                   {"name": "dns", "port": 53, "protocol": "UDP"}, {"port": 53},
                   {"name": "assoc", "port": 3868, "protocol": "SCTP"}]},
        {"namespace": "n", "name": "s2", "ip": "10.0.0.3", "labels": {"role": "server"},
         "ports": [{"name": "web", "port": 8081}, {"port": 8080}]},
    ],
    "externals": [{"name": "ext", "ip": "192.0.2.1", "ports": [{"port": 8080}, {"port": 8081}]}],
}  # fmt: skip
SERVED = {
    "n/s1": [(8080, "TCP"), (8081, "TCP"), (9000, "TCP"), (53, "UDP"), (53, "TCP"),
             (3868, "SCTP")],
    "n/s2": [(8081, "TCP"), (8080, "TCP")],
}  # fmt: skip


def topology() -> Topology:
    return topology_from_dict(TOPOLOGY)


def open_ports(*ports: dict[str, Any]) -> set[tuple[str, int, str]]:
    """(server, port, protocol) that client reaches when servers only admit ``ports``."""
    policy = netpol("n", "p", podSelector={"matchLabels": {"role": "server"}},
                    ingress=[{"ports": list(ports)}])  # fmt: skip
    sim = simulate(topology(), [policy])
    return {
        (dst, port, proto)
        for dst, served in SERVED.items()
        for port, proto in served
        if sim.allowed("n/client", dst, port, proto)
    }


def test_numeric_port_defaults_to_tcp() -> None:
    assert open_ports({"port": 53}) == {("n/s1", 53, "TCP")}
    assert open_ports({"port": 8080}) == {("n/s1", 8080, "TCP"), ("n/s2", 8080, "TCP")}


def test_udp_and_sctp_ports() -> None:
    assert open_ports({"port": 53, "protocol": "UDP"}) == {("n/s1", 53, "UDP")}
    assert open_ports({"port": 3868, "protocol": "SCTP"}) == {("n/s1", 3868, "SCTP")}


def test_protocol_without_port_means_every_port_of_that_protocol() -> None:
    assert open_ports({"protocol": "UDP"}) == {("n/s1", 53, "UDP")}


def test_named_port_resolves_against_each_destination() -> None:
    assert open_ports({"port": "web"}) == {("n/s1", 8080, "TCP"), ("n/s2", 8081, "TCP")}


def test_named_port_protocol_must_match() -> None:
    assert open_ports({"port": "dns"}) == set()
    assert open_ports({"port": "dns", "protocol": "UDP"}) == {("n/s1", 53, "UDP")}
    assert open_ports({"port": "assoc", "protocol": "SCTP"}) == {("n/s1", 3868, "SCTP")}


def test_end_port_range_is_inclusive() -> None:
    assert open_ports({"port": 8081, "endPort": 9000}) == {
        ("n/s1", 8081, "TCP"),
        ("n/s1", 9000, "TCP"),
        ("n/s2", 8081, "TCP"),
    }
    assert open_ports({"port": 8080, "endPort": 8080}) == {
        ("n/s1", 8080, "TCP"),
        ("n/s2", 8080, "TCP"),
    }


def test_several_ports_are_ored_and_a_rule_without_ports_allows_all() -> None:
    assert open_ports({"port": 9000}, {"port": 53, "protocol": "UDP"}) == {
        ("n/s1", 9000, "TCP"),
        ("n/s1", 53, "UDP"),
    }
    all_served = {(dst, p, proto) for dst, served in SERVED.items() for p, proto in served}
    assert open_ports() == all_served


def test_named_port_in_egress_resolves_on_the_destination_and_never_on_externals() -> None:
    policy = netpol("n", "p", podSelector={"matchLabels": {"role": "server"}},
                    policyTypes=["Egress"], egress=[{"ports": [{"port": "web"}]}])  # fmt: skip
    sim = simulate(topology(), [policy])
    assert sim.allowed("n/s1", "n/s2", 8081)
    assert not sim.allowed("n/s1", "n/s2", 8080)
    assert not sim.allowed("n/s2", "ext", 8080)
    assert not sim.allowed("n/s2", "ext", 8081)
    assert "egress: allowed by n/p egress[0] (n/s1 is selected by n/p);" in sim.reason(
        "n/s1", "n/s2", 8081
    )


def test_a_port_declared_under_two_names_is_one_verdict() -> None:
    topology = topology_from_dict({"pods": [
        {"namespace": "n", "name": "s", "ip": "10.0.0.1",
         "ports": [{"name": "web", "port": 80}, {"name": "http", "port": 80}]},
        {"namespace": "n", "name": "c", "ip": "10.0.0.2"},
    ]})  # fmt: skip
    sim = simulate(topology, [netpol("n", "p", ingress=[{"ports": [{"port": "http"}]}])])
    assert [(c.src, c.dst, c.port, c.allowed) for c in sim.matrix.cells()] == [
        ("n/c", "n/s", 80, True)
    ]
    assert sim.matrix.verdict_count == 1
    assert sim.reason("n/c", "n/s", 80).endswith(
        "ingress: allowed by n/p ingress[0] (n/s is selected by n/p)"
    )
