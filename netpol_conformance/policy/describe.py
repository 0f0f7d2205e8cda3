"""A NetworkPolicy described for people, like `kubectl describe networkpolicy`."""

from __future__ import annotations

from netpol_conformance.policy.model import EGRESS, INGRESS, NetworkPolicy, Rule


def _rule(rule: Rule, peers_word: str) -> list[str]:
    ports = ", ".join(map(str, rule.ports)) or "any port"
    peers = [str(p) for p in rule.peers] or ["any peer"]
    return [f"    to ports {ports}", f"    {peers_word}:", *(f"      {p}" for p in peers)]


def describe_policy(policy: NetworkPolicy) -> str:
    lines = [
        f"Name:         {policy.name}",
        f"Namespace:    {policy.namespace}",
        f"PodSelector:  {policy.pod_selector} (pods in {policy.namespace})",
        f"PolicyTypes:  {', '.join(t for t in (INGRESS, EGRESS) if t in policy.policy_types)}",
    ]
    for direction, word in ((INGRESS, "from"), (EGRESS, "to")):
        if direction not in policy.policy_types:
            lines.append(f"Allowing {direction.lower()} traffic: <not affected>")
            continue
        rules = policy.rules(direction)
        if not rules:
            lines.append(f"Allowing {direction.lower()} traffic: <none> (isolated)")
            continue
        lines.append(f"Allowing {direction.lower()} traffic:")
        for rule in rules:
            lines += _rule(rule, word)
    return "\n".join(lines)
