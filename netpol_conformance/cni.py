"""The one table of CNIs: data, not code. Adding a CNI is one entry here.

For each CNI: whether it enforces NetworkPolicy, how a denied TCP connection looks to the
client (``drop``: the packet vanishes, curl times out with exit 28; ``reject``: an ICMP
port-unreachable or a TCP reset comes back, curl says "connection refused" at once), how the
preflight recognises it running, how a kind cluster installs it, and whether the local cluster
(``scripts/local-cluster``) can run it and under which node process name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from netpol_conformance.errors import UsageError

DROP = "drop"
REJECT = "reject"


@dataclass(frozen=True)
class KindInstall:
    """How a kind cluster gets this CNI."""

    manifest: str | None  # pinned upstream manifest applied with kubectl; None: kind's own
    daemonset: tuple[str, str]  # namespace, name: all of it Ready means the CNI is up
    pod_subnet: str | None = None  # the kind config's networking.podSubnet
    needs_bridge_plugin: bool = False  # kind's node image lacks the `bridge` CNI plugin

    @property
    def disables_default_cni(self) -> bool:
        return self.manifest is not None


@dataclass(frozen=True)
class CniProfile:
    name: str
    enforces: bool
    deny_style: str  # DROP or REJECT; meaningless when enforces is False
    component_pattern: str | None  # regex matched against CNI component names (preflight)
    kind: KindInstall | None = None  # None: kind cannot install it
    local_agent: str | None = None  # node process on the local cluster; None: not there
    local: bool = False  # scripts/local-cluster up --cni NAME runs it

    @property
    def deny_description(self) -> str:
        return self.deny_style if self.enforces else "none (policies are not enforced)"


PROFILES: dict[str, CniProfile] = {
    p.name: p
    for p in (
        CniProfile(
            "calico",
            True,
            DROP,
            r"^calico-node-",
            kind=KindInstall(
                "https://raw.githubusercontent.com/projectcalico/calico/v3.29.3/manifests/calico.yaml",
                ("kube-system", "calico-node"),
                pod_subnet="192.168.0.0/16",
            ),
        ),
        CniProfile("cilium", True, DROP, r"^cilium-(?!operator)"),
        CniProfile(
            "kindnet",
            True,
            DROP,
            r"^kindnet-",
            kind=KindInstall(None, ("kube-system", "kindnet")),
        ),
        CniProfile(
            "flannel",
            False,
            DROP,
            r"^kube-flannel-|^flannel",
            kind=KindInstall(
                "https://github.com/flannel-io/flannel/releases/download/v0.26.7/kube-flannel.yml",
                ("kube-flannel", "kube-flannel-ds"),
                pod_subnet="10.244.0.0/16",
                needs_bridge_plugin=True,
            ),
            local_agent="flanneld",
            local=True,
        ),
        CniProfile(
            "kube-router", True, REJECT, r"^kube-router", local_agent="kube-router", local=True
        ),
        # The plain CNI bridge plugin with no policy controller: nothing is enforced.
        CniProfile("bridge", False, DROP, None, local=True),
    )
}


def detect_version(profile: CniProfile, daemonsets: Mapping[str, Sequence[str]]) -> str:
    """The CNI's version as its DaemonSet's first image tag shows it, or "" when it does not."""
    if profile.component_pattern is None:
        return ""
    pattern = re.compile(profile.component_pattern)
    for name, images in sorted(daemonsets.items()):
        if pattern.search(name.rpartition("/")[2] + "-") and images:
            image = images[0].split("@", 1)[0]
            tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else ""
            return tag
    return ""


def profile(name: str) -> CniProfile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise UsageError(f"unknown CNI {name!r}: choose one of {known}") from None
