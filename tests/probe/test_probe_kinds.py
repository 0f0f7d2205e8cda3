"""Each probe kind is one definition, and everything that treats kinds differently reads it:
the plan's expectations, the runner's source ports and control probes, the simulated cluster's
answers and the results file's schema."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from netpol_conformance.cni import profile
from netpol_conformance.plan.judge import expected_outcome
from netpol_conformance.probe.classify import (
    classify_curl,
    classify_dig,
    classify_sctp,
    classify_udp,
)
from netpol_conformance.probe.commands import ProbeSettings, sctp_destination, udp_destination
from netpol_conformance.probe.kinds import (
    KINDS,
    control_argv,
    kind_of,
    probe_argv,
    server_kind,
)
from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.probe.spec import DNS, SCTP, TCP, UDP, Probe, ProbeTarget

SETTINGS = ProbeSettings()


def test_the_kinds_are_the_four_the_suite_probes_with() -> None:
    assert {k: (v.protocols, v.through, v.blocked) for k, v in KINDS.items()} == {
        TCP: (("TCP",), Outcome.CONNECTED, None),
        UDP: (("UDP",), Outcome.CONNECTED, None),
        SCTP: (("SCTP",), Outcome.CONNECTED, None),
        DNS: (("UDP", "TCP"), Outcome.DNS_OK, Outcome.DNS_FAIL),
    }
    assert KINDS[TCP].classify is classify_curl and KINDS[UDP].classify is classify_udp
    assert KINDS[SCTP].classify is classify_sctp
    assert KINDS[DNS].classify is classify_dig


@pytest.mark.parametrize(
    ("probe", "binds"),
    [
        (Probe("a/b", TCP, "c/d", 80), False),
        (Probe("a/b", UDP, "c/d", 80, "UDP"), True),
        (Probe("a/b", SCTP, "c/d", 80, "SCTP"), False),  # an association has its handshake
        (Probe("a/b", DNS, "dns", 53, "UDP", "k.default"), True),
        (Probe("a/b", DNS, "dns", 53, "TCP", "k.default"), False),  # a TCP flow has its handshake
    ],
)
def test_datagram_flows_bind_a_source_port_of_their_own(probe: Probe, binds: bool) -> None:
    assert kind_of(probe).binds_port(probe) is binds


@pytest.mark.parametrize(
    ("cni", "denied"), [("calico", Outcome.TIMEOUT), ("kube-router", Outcome.REFUSED)]
)
def test_a_denied_probe_observes_the_deny_style_unless_its_kind_says_otherwise(
    cni: str, denied: Outcome
) -> None:
    p = profile(cni)
    assert [expected_outcome(k, False, p) for k in (TCP, UDP, DNS)] == [
        denied,
        denied,
        Outcome.DNS_FAIL,
    ]
    assert [expected_outcome(k, True, p) for k in (TCP, UDP, DNS)] == [
        Outcome.CONNECTED,
        Outcome.CONNECTED,
        Outcome.DNS_OK,
    ]
    flannel = profile("flannel")  # enforces nothing: every probe gets through
    assert expected_outcome(DNS, False, flannel) is Outcome.DNS_OK


def test_server_ports_are_probed_by_the_kind_of_their_protocol() -> None:
    assert server_kind("TCP").name == TCP and server_kind("UDP").name == UDP
    assert server_kind("SCTP").name == SCTP
    with pytest.raises(ValueError, match="no probe kind carries ICMP"):
        server_kind("ICMP")
    assert control_argv(80, "SCTP", SETTINGS) == [
        "socat",
        "-T",
        "2",
        "-u",
        "SCTP-CONNECT:127.0.0.1:80,connect-timeout=2",
        "STDOUT",
    ]
    assert sctp_destination(control_argv(81, "SCTP", SETTINGS)) == ("127.0.0.1", 81)
    assert control_argv(80, "TCP", SETTINGS)[-1] == "http://127.0.0.1:80/"
    assert udp_destination(control_argv(5432, "UDP", SETTINGS)) == ("127.0.0.1", 5432)
    assert "sourceport" not in control_argv(5432, "UDP", SETTINGS)[2]  # loopback: no policy


def test_an_unknown_kind_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown probe kind 'icmp'"):
        probe_argv(ProbeTarget(Probe("a/b", "icmp"), "a", "b"), SETTINGS)


def test_the_results_schema_names_every_kind() -> None:
    schema = json.loads(
        resources.files("netpol_conformance.results").joinpath("results.schema.json").read_text()
    )
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            kind = node.get("properties", {}).get("kind", {}) if "properties" in node else {}
            if isinstance(kind, dict) and "enum" in kind and "tcp" in kind["enum"]:
                found.append(sorted(kind["enum"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert found and all(enum == sorted(KINDS) for enum in found)
