"""CNI profiles: data, not code. Adding a CNI is one entry here.

A profile says whether the CNI enforces NetworkPolicy and how a denied TCP connection looks
to the client: ``drop`` (the packet vanishes; curl times out, exit 28) or ``reject`` (an ICMP
port-unreachable or a TCP reset comes back; curl says "connection refused" at once).
"""

from __future__ import annotations

from dataclasses import dataclass

from netpol_conformance.errors import UsageError

DROP = "drop"
REJECT = "reject"


@dataclass(frozen=True)
class CniProfile:
    name: str
    enforces: bool
    deny_style: str  # DROP or REJECT; meaningless when enforces is False
    component_pattern: str | None  # regex matched against CNI component names (preflight)
    notes: str = ""


PROFILES: dict[str, CniProfile] = {
    p.name: p
    for p in (
        CniProfile("calico", True, DROP, r"^calico-node-", "Calico drops denied packets."),
        CniProfile("cilium", True, DROP, r"^cilium-(?!operator)", "Cilium drops by default."),
        CniProfile(
            "kindnet",
            True,
            DROP,
            r"^kindnet-",
            "kind >= v0.24 enforces NetworkPolicy through kube-network-policies.",
        ),
        CniProfile(
            "flannel",
            False,
            DROP,
            r"^kube-flannel-|^flannel",
            "Flannel has no NetworkPolicy support: every policy is ignored.",
        ),
        CniProfile(
            "kube-router",
            True,
            REJECT,
            r"^kube-router",
            "kube-router answers denied TCP with ICMP port-unreachable: clients see 'refused'.",
        ),
        CniProfile(
            "bridge",
            False,
            DROP,
            None,
            "The plain CNI bridge plugin with no policy controller: nothing is enforced.",
        ),
    )
}


def profile(name: str) -> CniProfile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise UsageError(f"unknown CNI {name!r}: choose one of {known}") from None
