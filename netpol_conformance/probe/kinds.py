"""Each probe kind, defined once: the protocols it carries, whether it reaches a pod's port or
the cluster's DNS by name, the command it runs in the probe container, how that command's
output is classified, which of its flows bind a source port of their own, and what it observes
when the policies let it through.

Everything that treats kinds differently asks this table: the runner (commands, classifiers,
source ports, control probes), the plan (which kind probes a server port, what a probe must
observe), the deployment and the oracle check (where a probe goes) and the reports. Adding a
kind touches three files: an entry here, the simulated cluster's answer to its command
(``sim/cluster.py``) and its name in the results schema's ``kind`` enums (a test checks they
list exactly these kinds); ``sctp`` was added so, with a classifier of its own. Where it is
probed is then the topology's: a server port of its protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from netpol_conformance.probe.classify import (
    classify_curl,
    classify_dig,
    classify_sctp,
    classify_udp,
)
from netpol_conformance.probe.commands import (
    ProbeSettings,
    curl_argv,
    dig_argv,
    sctp_argv,
    udp_argv,
)
from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.probe.spec import DNS, SCTP, TCP, UDP, Probe, ProbeTarget

Argv = Callable[[ProbeTarget, ProbeSettings, int | None], list[str]]


@dataclass(frozen=True)
class ProbeKind:
    name: str  # as probes and results files name it: tcp, udp, sctp, dns
    protocols: tuple[str, ...]  # the protocols its probes carry
    argv: Argv  # its command line: (target, settings, source port or None)
    classify: Callable[[int, str], Observation]  # (exit code, output) -> what it observed
    through: Outcome  # what it observes when the policies let it through
    # What it observes when denied, whatever the CNI's deny style; None: the deny style decides
    # (a dropping CNI times out, a rejecting one refuses).
    blocked: Outcome | None = None
    to_cluster_dns: bool = False  # looks a name up through the cluster DNS, not a pod's port
    datagram: frozenset[str] = frozenset()  # the protocols on which it binds its own port

    def binds_port(self, probe: Probe) -> bool:
        """Whether the probe's flow is a datagram's: it binds a source port no earlier probe
        used, so that it never rides an earlier flow's conntrack entry."""
        return probe.protocol in self.datagram


KINDS: dict[str, ProbeKind] = {
    kind.name: kind
    for kind in (
        ProbeKind(
            TCP,
            ("TCP",),
            lambda t, s, _port: curl_argv(t.address, t.probe.port, s),
            classify_curl,
            Outcome.CONNECTED,
        ),
        ProbeKind(
            UDP,
            ("UDP",),
            lambda t, s, port: udp_argv(t.address, t.probe.port, s, port),
            classify_udp,
            Outcome.CONNECTED,
            datagram=frozenset({"UDP"}),
        ),
        ProbeKind(
            SCTP,
            ("SCTP",),
            lambda t, s, _port: sctp_argv(t.address, t.probe.port, s),
            classify_sctp,
            Outcome.CONNECTED,
        ),
        ProbeKind(
            DNS,
            ("UDP", "TCP"),  # a resolver falls back to TCP for a long answer: both are probed
            lambda t, s, port: dig_argv(
                t.probe.name, s, port, t.source_ip, tcp=t.probe.protocol == "TCP"
            ),
            classify_dig,
            Outcome.DNS_OK,
            blocked=Outcome.DNS_FAIL,
            to_cluster_dns=True,
            datagram=frozenset({"UDP"}),
        ),
    )
}


def kind_of(probe: Probe) -> ProbeKind:
    try:
        return KINDS[probe.kind]
    except KeyError:
        raise ValueError(f"unknown probe kind {probe.kind!r}") from None


def server_kind(protocol: str) -> ProbeKind:
    """The kind that probes a server port of ``protocol`` (TCP 80: tcp, UDP 5432: udp)."""
    for kind in KINDS.values():
        if not kind.to_cluster_dns and protocol in kind.protocols:
            return kind
    raise ValueError(f"no probe kind carries {protocol}")


def probe_argv(
    target: ProbeTarget, settings: ProbeSettings, source_port: int | None = None
) -> list[str]:
    """The probe's command line; ``source_port`` for a flow that binds one (``binds_port``)."""
    return kind_of(target.probe).argv(target, settings, source_port)


def control_argv(port: int, protocol: str, settings: ProbeSettings) -> list[str]:
    """A probe of the pod's own server on loopback, to prove it listens (no policy applies)."""
    kind = server_kind(protocol)
    probe = Probe("control", kind.name, "", port, protocol)
    return kind.argv(ProbeTarget(probe, "", "", "127.0.0.1"), settings, None)
