"""What to probe: from which pod, to which destination, how."""

from __future__ import annotations

from dataclasses import dataclass

TCP = "tcp"
UDP = "udp"
DNS = "dns"
SCTP = "sctp"
_PROTOCOL = {TCP: "TCP", UDP: "UDP", SCTP: "SCTP"}


@dataclass(frozen=True)
class Probe:
    """One probe, named in the tutorial's logical terms (``frontend/web``), not rendered names.

    ``kind`` is ``tcp`` (curl to ``target``'s address on ``port``), ``udp`` (one datagram to
    ``target``'s address on ``port``, waiting for a reply), ``sctp`` (an SCTP association to
    ``target``'s address on ``port``, reading the server's greeting) or ``dns`` (a lookup of
    ``name`` through the cluster's DNS service, over ``protocol``: UDP, or TCP as a resolver
    falls back to for a long answer). ``protocol`` is TCP for ``tcp``, UDP for ``udp`` and
    SCTP for ``sctp``.
    """

    source: str
    kind: str
    target: str = ""
    port: int = 0
    protocol: str = "TCP"
    name: str = ""

    def __post_init__(self) -> None:
        wanted = _PROTOCOL.get(self.kind)
        if wanted and self.protocol != wanted:
            raise ValueError(f"a {self.kind} probe has protocol {wanted}, not {self.protocol}")

    @property
    def label(self) -> str:
        if self.kind == DNS:
            return f"{self.source}->dns:{self.name}" + ("/TCP" if self.protocol == "TCP" else "")
        return f"{self.source}->{self.target}:{self.port}/{self.protocol}"


@dataclass(frozen=True)
class ProbeTarget:
    """A probe resolved against the live cluster: where to exec, what to reach."""

    probe: Probe
    namespace: str  # rendered namespace of the source pod
    pod: str
    address: str = ""  # IP of the destination (tcp, udp)
    source_ip: str = ""  # IP of the source pod, where a DNS probe binds its source port
