"""The tutorial's first command as a verdict: does the cluster run the CNI under test?

``kubectl get pods -n kube-system | grep -E "calico|cilium|weave|flannel"``: the CNI named by
``--cni`` must run, and no other known CNI. A CNI may also run outside pods, as an agent on
each node (k3s runs kube-router's policy controller inside its own process): that is
recognised where the nodes show it, or declared with ``--cni-host-agent``. Pure: it reads
names, labels and annotations the backend already fetched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from netpol_conformance.cluster.base import NodeFacts
from netpol_conformance.cni import PROFILES, CniProfile

# Node marks of distributions that run a CNI's policy controller as part of their own agent.
K3S_INSTANCE = ("node.kubernetes.io/instance-type", "k3s")
EMBEDDED_IN_K3S = ("kube-router", "flannel")


@dataclass(frozen=True)
class Preflight:
    ok: bool
    message: str  # what was seen, either way


def _k3s_nodes(nodes: Sequence[NodeFacts]) -> list[str]:
    key, value = K3S_INSTANCE
    return [
        n.name
        for n in nodes
        if n.labels.get(key) == value or any(a.startswith("k3s.io/") for a in n.annotations)
    ]


def check_cni(
    profile: CniProfile,
    components: Sequence[str],
    nodes: Sequence[NodeFacts],
    host_agent_declared: bool = False,
) -> Preflight:
    others = {
        name: found
        for name, p in PROFILES.items()
        if name != profile.name and p.component_pattern
        if (found := [c for c in components if re.search(p.component_pattern, c)])
    }
    if others:
        seen = ", ".join(c for found in others.values() for c in found)
        return Preflight(
            False,
            f"--cni {profile.name}, but this cluster runs {', '.join(others)} ({seen}): "
            "pass the right --cni",
        )
    if profile.component_pattern is None:
        return Preflight(True, f"{profile.name}: no policy controller to look for")
    ours = [c for c in components if re.search(profile.component_pattern, c)]
    if ours:
        more = f" and {len(ours) - 3} more" if len(ours) > 3 else ""
        return Preflight(True, f"{profile.name} runs: {', '.join(ours[:3])}{more}")
    k3s = _k3s_nodes(nodes)
    if k3s and profile.name in EMBEDDED_IN_K3S:
        return Preflight(
            True,
            f"no {profile.name} pod, but {', '.join(k3s[:3])} "
            f"{'is a k3s node' if len(k3s) == 1 else 'are k3s nodes'}: k3s runs "
            f"{profile.name} inside its own agent",
        )
    if host_agent_declared:
        return Preflight(
            True,
            f"no pod matches {profile.component_pattern!r}; --cni-host-agent says "
            f"{profile.name} runs on the nodes outside pods (not checked)",
        )
    seen = ", ".join(components[:12]) + (" ..." if len(components) > 12 else "")
    return Preflight(
        False,
        f"--cni {profile.name}, but nothing matching {profile.component_pattern!r} runs; seen: "
        f"{seen or 'nothing'}. If {profile.name} runs on the nodes outside pods (as k3s runs "
        "kube-router), pass --cni-host-agent",
    )
