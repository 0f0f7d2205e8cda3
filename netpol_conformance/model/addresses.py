"""IP addresses and networks as Kubernetes takes them: plain, without an IPv6 zone.

Python accepts ``fe80::1%eth0`` as an address and drops the zone from ``fe80::1%eth0/64`` as a
network; the API server refuses both in an ipBlock, and no pod or host of a cluster has one.
"""

from __future__ import annotations

import ipaddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def plain_address(raw: str) -> Address:
    """The address ``raw`` names; ValueError for anything else, a zone included."""
    if "%" in raw:
        raise ValueError(f"{raw!r} has an IPv6 zone (%...), which no cluster address has")
    return ipaddress.ip_address(raw)


def plain_network(raw: str) -> Network:
    """The network ``raw`` names (host bits allowed); ValueError for anything else."""
    if "%" in raw:
        raise ValueError(f"{raw!r} has an IPv6 zone (%...), which an ipBlock cannot have")
    return ipaddress.ip_network(raw, strict=False)
