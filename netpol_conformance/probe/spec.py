"""What to probe: from which pod, to which destination, how."""

from __future__ import annotations

from dataclasses import dataclass

TCP = "tcp"
DNS = "dns"


@dataclass(frozen=True)
class Probe:
    """One probe, named in the tutorial's logical terms (``frontend/web``), not rendered names.

    ``kind`` is ``tcp`` (curl to ``target``'s address on ``port``) or ``dns`` (nslookup of
    ``name`` through the cluster's DNS service).
    """

    source: str
    kind: str
    target: str = ""
    port: int = 0
    protocol: str = "TCP"
    name: str = ""

    @property
    def label(self) -> str:
        if self.kind == DNS:
            return f"{self.source}->dns:{self.name}"
        return f"{self.source}->{self.target}:{self.port}/{self.protocol}"


@dataclass(frozen=True)
class ProbeTarget:
    """A probe resolved against the live cluster: where to exec, what to reach."""

    probe: Probe
    namespace: str  # rendered namespace of the source pod
    pod: str
    address: str = ""  # IP of the destination (tcp)
