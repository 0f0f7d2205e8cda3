"""The one table of CNIs: data, not code. Adding a CNI is one entry here.

For each CNI: whether it enforces NetworkPolicy, how a denied TCP connection looks to the
client (``drop``: the packet vanishes, curl times out with exit 28; ``reject``: an ICMP
port-unreachable or a TCP reset comes back, curl says "connection refused" at once), how the
preflight recognises it running, how a kind cluster installs it, whether the local cluster
(``scripts/local-cluster``) can run it and under which node process name, and whether it
enforces policies on SCTP (``enforces_sctp``: a CNI that does not has its SCTP probes skipped,
with its name, instead of failed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from netpol_conformance.errors import UsageError

DROP = "drop"
REJECT = "reject"


@dataclass(frozen=True)
class HelmChart:
    """A released Helm chart, installed with ``helm upgrade --install``."""

    repo: str  # the chart repository URL
    chart: str
    version: str
    namespace: str
    values: tuple[str, ...] = ()  # --set KEY=VALUE


@dataclass(frozen=True)
class KindInstall:
    """How a kind cluster gets this CNI, at which pinned upstream release, and what it needs.

    ``tested_kubernetes`` lists the Kubernetes minors the CNI's own documentation says this
    release is tested on (empty: upstream documents none); ``released`` is the month of the
    pinned release. Both feed the version check printed at the start of a kind run.
    """

    version: str  # the pinned upstream release; "" for kind's own kindnet
    daemonset: tuple[str, str]  # namespace, name: all of it Ready means the CNI runs everywhere
    manifest: str | None = None  # a released manifest applied with kubectl
    helm: HelmChart | None = None  # or a released Helm chart
    deployments: tuple[tuple[str, str], ...] = ()  # namespace, name: must be Ready too
    pod_subnet: str = "10.244.0.0/16"  # the kind config's networking.podSubnet
    needs_bridge_plugin: bool = False  # kind's node image lacks the `bridge` CNI plugin
    needs_br_netfilter: bool = False  # pods are bridged: iptables must see bridged traffic
    registries: tuple[str, ...] = ()  # where its images come from
    released: str = ""  # YYYY-MM of the pinned release
    tested_kubernetes: tuple[str, ...] = ()  # minors upstream tests this release on
    archived: bool = False  # the upstream project is no longer maintained
    # The nftables table ("FAMILY NAME") its policy engine makes on every node, for a CNI that
    # fails open (lets everything through) when its engine does not run: checked after Ready.
    policy_table: str = ""

    @property
    def disables_default_cni(self) -> bool:
        return self.manifest is not None or self.helm is not None

    @property
    def source(self) -> str:
        """Where the CNI comes from, for the start-of-run line and the README."""
        if self.helm is not None:
            return f"Helm chart {self.helm.chart} {self.helm.version} from {self.helm.repo}"
        if self.manifest is not None:
            return self.manifest
        return "kind's node image"


@dataclass(frozen=True)
class CniProfile:
    name: str
    enforces: bool
    deny_style: str  # DROP or REJECT; meaningless when enforces is False
    component_pattern: str | None  # regex matched against CNI component names (preflight)
    kind: KindInstall | None = None  # None: kind cannot install it
    local_agent: str | None = None  # node process on the local cluster; None: not there
    local: bool = False  # scripts/local-cluster up --cni NAME runs it
    # Whether its policies match SCTP ports as the rules say (with ``enforces``); each entry
    # below says where that comes from.
    enforces_sctp: bool = False

    @property
    def deny_description(self) -> str:
        return self.deny_style if self.enforces else "none (policies are not enforced)"

    @property
    def sctp_unenforced(self) -> bool:
        """It enforces policies, but not on SCTP: an SCTP probe could not mean anything."""
        return self.enforces and not self.enforces_sctp


PROFILES: dict[str, CniProfile] = {
    p.name: p
    for p in (
        CniProfile(
            "calico",
            True,
            DROP,
            r"^calico-node-",
            kind=KindInstall(
                "v3.32.1",
                ("kube-system", "calico-node"),
                manifest="https://raw.githubusercontent.com/projectcalico/calico/v3.32.1/manifests/calico.yaml",
                deployments=(("kube-system", "calico-kube-controllers"),),
                pod_subnet="192.168.0.0/16",  # the manifest's CALICO_IPV4POOL_CIDR default
                registries=("quay.io",),
                released="2026-06",
                tested_kubernetes=("1.34", "1.35", "1.36"),
            ),
            # SCTP is one of the protocols Calico's policy rules match (its NetworkPolicy
            # reference: TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite).
            enforces_sctp=True,
        ),
        CniProfile(
            "cilium",
            True,
            DROP,
            r"^cilium-(?!operator)",
            kind=KindInstall(
                "1.19.8",
                ("kube-system", "cilium"),
                helm=HelmChart(
                    "https://helm.cilium.io",
                    "cilium",
                    "1.19.8",
                    "kube-system",
                    values=(
                        "ipam.mode=kubernetes",  # pod CIDRs from the kind config's podSubnet
                        "kubeProxyReplacement=false",  # kind's kube-proxy stays
                        "image.pullPolicy=IfNotPresent",
                        "operator.replicas=1",
                    ),
                ),
                deployments=(("kube-system", "cilium-operator"),),
                registries=("quay.io",),
                released="2026-09",
                tested_kubernetes=("1.32", "1.33", "1.34", "1.35"),
            ),
            # Cilium's SCTP support is beta and off unless its chart sets sctp.enabled=true
            # (docs.cilium.io, "SCTP support (beta)"); the pinned install above does not.
            enforces_sctp=False,
        ),
        CniProfile(
            "weave",
            True,
            DROP,
            r"^weave-net-",
            kind=KindInstall(
                "2.8.1",
                ("kube-system", "weave-net"),
                manifest="https://github.com/weaveworks/weave/releases/download/v2.8.1/weave-daemonset-k8s.yaml",
                pod_subnet="10.32.0.0/12",  # Weave's IPALLOC_RANGE default; kube-proxy must match
                needs_br_netfilter=True,
                registries=("docker.io",),
                released="2021-01",
                archived=True,
            ),
            # weave-npc 2.8.1 hands a rule's protocol to iptables as it is (npc/analyser.go
            # proto, npc/rule.go "-p"): SCTP ports are matched like TCP and UDP ones.
            enforces_sctp=True,
        ),
        CniProfile(
            "kindnet",
            True,
            DROP,
            r"^kindnet-",
            kind=KindInstall(
                "", ("kube-system", "kindnet"), policy_table="inet kindnet-network-policies"
            ),
            # kindnet's policies are kube-network-policies': each queued packet is judged in
            # Go, and its packet parser reads SCTP ports (pkg/network/packet.go).
            enforces_sctp=True,
        ),
        CniProfile(
            "flannel",
            False,
            DROP,
            r"^kube-flannel-|^flannel",
            kind=KindInstall(
                "v0.28.9",
                ("kube-flannel", "kube-flannel-ds"),
                manifest="https://github.com/flannel-io/flannel/releases/download/v0.28.9/kube-flannel.yml",
                pod_subnet="10.244.0.0/16",  # the manifest's net-conf.json Network
                needs_bridge_plugin=True,
                needs_br_netfilter=True,
                registries=("ghcr.io",),
                released="2026-08",
            ),
            local_agent="flanneld",
            local=True,
            enforces_sctp=False,  # it enforces no policy at all: SCTP goes through like the rest
        ),
        CniProfile(
            "kube-router",
            True,
            REJECT,
            r"^kube-router",
            local_agent="kube-router",
            local=True,
            # v2.1.0 writes every rule as iptables "-p PROTOCOL --dport PORT" whatever the
            # protocol (pkg/controllers/netpol/policy.go, appendRuleToPolicyChain), so SCTP
            # ports are matched; its feature request for SCTP (cloudnativelabs/kube-router#1019)
            # is open but reports no failure. Read from the code: no SCTP run has shown it yet.
            enforces_sctp=True,
        ),
        # The plain CNI bridge plugin with no policy controller: nothing is enforced.
        CniProfile("bridge", False, DROP, None, local=True, enforces_sctp=False),
    )
}


def detect_version(profile: CniProfile, daemonsets: Mapping[str, Sequence[str]]) -> str:
    """The CNI's version as its DaemonSet's first image tag shows it, or "" when it does not."""
    if profile.component_pattern is None:
        return ""
    pattern = re.compile(profile.component_pattern)
    for name, images in sorted(daemonsets.items()):
        if pattern.search(name.rpartition("/")[2] + "-") and images:
            return image_tag(images[0])
    return ""


def image_tag(image: str) -> str:
    """The tag of an image reference (``registry:5000/calico/node:v3.32.1@sha256:...`` gives
    ``v3.32.1``), or "" when it has none."""
    image = image.split("@", 1)[0]
    last = image.rpartition("/")[2]
    return last.rpartition(":")[2] if ":" in last else ""


def profile(name: str) -> CniProfile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise UsageError(f"unknown CNI {name!r}: choose one of {known}") from None
