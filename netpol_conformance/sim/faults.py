"""Faults the simulated cluster can inject, to prove that the suite catches broken CNIs.

Semantic faults are pure transformations of policies; the oracle itself never changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from netpol_conformance.errors import UsageError
from netpol_conformance.policy.model import EGRESS, NetworkPolicy, Peer, Rule

FAULTS = (
    "no-enforcement",
    "or-for-and",
    "ignore-ports",
    "ignore-egress",
    "block-dns",
    "reject-instead-of-drop",
    "slow-enforcement",
)


@dataclass(frozen=True)
class Faults:
    no_enforcement: bool = False
    or_for_and: bool = False
    ignore_ports: bool = False
    ignore_egress: bool = False
    block_dns: bool = False
    reject_instead_of_drop: bool = False
    slow_enforcement: float = 0.0

    @classmethod
    def parse(cls, spec: str | Iterable[str] | None) -> Faults:
        """Parse ``"or-for-and,slow-enforcement:5"``; unknown names are a usage error."""
        items = spec.split(",") if isinstance(spec, str) else list(spec or [])
        values: dict[str, object] = {}
        for raw in (i.strip() for i in items):
            if not raw:
                continue
            name, _, arg = raw.partition(":")
            if name not in FAULTS:
                raise UsageError(f"unknown fault {name!r}: choose from {', '.join(FAULTS)}")
            if name == "slow-enforcement":
                try:
                    seconds = float(arg)
                except ValueError:
                    seconds = -1.0
                if not seconds >= 0:
                    raise UsageError("slow-enforcement needs seconds >= 0: slow-enforcement:5")
                values["slow_enforcement"] = seconds
            elif arg:
                raise UsageError(f"fault {name!r} takes no argument")
            else:
                values[name.replace("-", "_")] = True
        return cls(**values)  # type: ignore[arg-type]

    def apply(self, policies: Sequence[NetworkPolicy]) -> list[NetworkPolicy]:
        """The policies as a CNI with these faults would (mis)understand them."""
        if self.no_enforcement:
            return []
        out = []
        for p in policies:
            if self.ignore_egress:
                p = dataclasses.replace(p, policy_types=p.policy_types - {EGRESS}, egress=())
            if self.or_for_and or self.ignore_ports:
                p = dataclasses.replace(
                    p, ingress=self._rules(p.ingress), egress=self._rules(p.egress)
                )
            out.append(p)
        return out

    def _rules(self, rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
        return tuple(
            Rule(
                peers=self._split(r.peers) if self.or_for_and else r.peers,
                ports=() if self.ignore_ports else r.ports,
            )
            for r in rules
        )

    @staticmethod
    def _split(peers: tuple[Peer, ...]) -> tuple[Peer, ...]:
        out: list[Peer] = []
        for peer in peers:
            if peer.pod_selector is not None and peer.namespace_selector is not None:
                # The bug: the two selectors of one peer treated as two peers (OR).
                out += [
                    Peer(namespace_selector=peer.namespace_selector),
                    Peer(pod_selector=peer.pod_selector),
                ]
            else:
                out.append(peer)
        return tuple(out)
