"""Faults the simulated cluster can inject, to prove that the suite catches broken CNIs.

Semantic faults are pure transformations of policies; the oracle itself never changes.
Timing faults decide when policies are in force.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from netpol_conformance.errors import UsageError
from netpol_conformance.model.topology import PROTOCOLS
from netpol_conformance.policy.model import EGRESS, IPBlock, NetworkPolicy, Peer, PolicyPort, Rule

FAULTS = (
    "no-enforcement",
    "or-for-and",
    "ignore-ports",
    "ignore-egress",
    "ignore-protocol",
    "ignore-except",
    "dns-port-any-destination",
    "block-dns",
    "dns-tcp-blocked",
    "reject-instead-of-drop",
    "slow-enforcement",
    "rules-expire",
    "flapping",
    "ignore-endport",
    "named-port-on-source",
    "except-overrides-allow",
    "stale-labels",
    "new-pod-open",
    "sctp-as-tcp",
)
_USAGE = {
    "new-pod-open": "seconds > 0 a pod created under a policy stays open, e.g. new-pod-open:5",
    "slow-enforcement": "seconds >= 0, e.g. slow-enforcement:5",
    "rules-expire": "seconds > 0 a policy stays in force, e.g. rules-expire:10",
    "flapping": "PERIOD,OFF seconds (enforcement off for the last OFF of every PERIOD), "
    "e.g. flapping:3,0.6",
}
_NUMBER = re.compile(r"^\s*[0-9.]+\s*$")


@dataclass(frozen=True)
class Faults:
    no_enforcement: bool = False
    or_for_and: bool = False
    ignore_ports: bool = False
    ignore_egress: bool = False
    ignore_protocol: bool = False  # a port rule matches every protocol, not only its own
    ignore_except: bool = False  # ipBlock.except is ignored
    dns_port_any_destination: bool = False  # an egress rule on port 53 opens 53 to anywhere
    block_dns: bool = False
    dns_tcp_blocked: bool = False  # TCP 53 to the cluster DNS dropped, UDP 53 answered
    reject_instead_of_drop: bool = False
    slow_enforcement: float = 0.0
    rules_expire: float = 0.0  # a policy is in force for this long, then gone (0: for good)
    flapping: tuple[float, float] | None = None  # (period, off) seconds
    ignore_endport: bool = False  # a port range opens only its first port
    named_port_on_source: bool = False  # a named port resolved on the client pod
    except_overrides_allow: bool = False  # an excepted address is denied whatever allows it
    stale_labels: bool = False  # label changes are seen only at the next policy change
    new_pod_open: float = 0.0  # a pod created while policies exist is open this long
    sctp_as_tcp: bool = False  # a rule's SCTP port is read as the TCP port of that number

    @classmethod
    def parse(cls, spec: str | Iterable[str] | None) -> Faults:
        """Parse ``"or-for-and,slow-enforcement:5,flapping:3,0.6"``; errors are usage errors."""
        items = spec.split(",") if isinstance(spec, str) else list(spec or [])
        values: dict[str, object] = {}
        i = 0
        while i < len(items):
            raw = items[i].strip()
            i += 1
            if not raw:
                continue
            name, _, arg = raw.partition(":")
            if name not in FAULTS:
                raise UsageError(f"unknown fault {name!r}: choose from {', '.join(FAULTS)}")
            if name == "slow-enforcement":
                values["slow_enforcement"] = _seconds(arg, name, allow_zero=True)
            elif name == "rules-expire":
                values["rules_expire"] = _seconds(arg, name)
            elif name == "new-pod-open":
                values["new_pod_open"] = _seconds(arg, name)
            elif name == "flapping":
                if i < len(items) and _NUMBER.match(items[i]):  # "flapping:3,0.6"
                    arg, i = f"{arg},{items[i]}", i + 1
                period, _, off = arg.partition(",")
                p, o = _seconds(period, name), _seconds(off, name)
                if o >= p:
                    raise UsageError(f"flapping needs OFF < PERIOD: {_USAGE[name]}")
                values["flapping"] = (p, o)
            elif arg:
                raise UsageError(f"fault {name!r} takes no argument")
            else:
                values[name.replace("-", "_")] = True
        return cls(**values)  # type: ignore[arg-type]

    def enforcing_at(self, now: float) -> bool:
        """False while a flapping CNI has its enforcement off."""
        if self.flapping is None:
            return True
        period, off = self.flapping
        return now % period < period - off

    def apply(self, policies: Sequence[NetworkPolicy]) -> list[NetworkPolicy]:
        """The policies as a CNI with these faults would (mis)understand them."""
        if self.no_enforcement:
            return []
        out = []
        for p in policies:
            if self.ignore_egress:
                p = dataclasses.replace(p, policy_types=p.policy_types - {EGRESS}, egress=())
            if self.dns_port_any_destination:
                p = dataclasses.replace(p, egress=tuple(_dns_anywhere(r) for r in p.egress))
            if (
                self.or_for_and
                or self.ignore_ports
                or self.ignore_protocol
                or self.ignore_except
                or self.ignore_endport
                or self.sctp_as_tcp
            ):
                p = dataclasses.replace(
                    p, ingress=self._rules(p.ingress), egress=self._rules(p.egress)
                )
            out.append(p)
        return out

    def _rules(self, rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
        return tuple(Rule(peers=self._peers(r.peers), ports=self._ports(r.ports)) for r in rules)

    def _ports(self, ports: tuple[PolicyPort, ...]) -> tuple[PolicyPort, ...]:
        if self.ignore_ports:
            return ()
        if self.sctp_as_tcp:  # the bug: an SCTP port opens TCP, and SCTP stays closed
            ports = tuple(
                dataclasses.replace(p, protocol="TCP") if p.protocol == "SCTP" else p for p in ports
            )
        if self.ignore_endport:  # the bug: the range is read as its first port alone
            ports = tuple(dataclasses.replace(p, end_port=None) for p in ports)
        if self.ignore_protocol:  # the bug: the port is matched whatever its protocol
            return tuple(
                dataclasses.replace(p, protocol=proto) for p in ports for proto in PROTOCOLS
            )
        return ports

    def _peers(self, peers: tuple[Peer, ...]) -> tuple[Peer, ...]:
        out: list[Peer] = []
        for peer in peers:
            if self.ignore_except and peer.ip_block is not None:
                peer = dataclasses.replace(peer, ip_block=IPBlock(peer.ip_block.cidr))
            if (
                self.or_for_and
                and peer.pod_selector is not None
                and peer.namespace_selector is not None
            ):
                # The bug: the two selectors of one peer treated as two peers (OR).
                out += [
                    Peer(namespace_selector=peer.namespace_selector),
                    Peer(pod_selector=peer.pod_selector),
                ]
            else:
                out.append(peer)
        return tuple(out)


def _dns_anywhere(rule: Rule) -> Rule:
    """The bug: an egress rule that names port 53 lets port 53 go to any destination."""
    if rule.peers and any(p.port == 53 for p in rule.ports):
        return Rule(peers=(), ports=rule.ports)
    return rule


def _seconds(text: str, name: str, allow_zero: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise UsageError(f"{name} needs {_USAGE[name]}")
    return value
