"""The commands that put a CNI on a kind cluster: node scripts, `kubectl apply`, `helm`.

Pure builders: the provider runs them. The node scripts run inside each kind node with
`docker exec NODE sh -c SCRIPT`.
"""

from __future__ import annotations

from netpol_conformance.cluster.kind.versions import CNI_PLUGINS_VERSION
from netpol_conformance.cni import HelmChart

BR_NETFILTER_MISSING = 3  # exit code of the br_netfilter script when the module cannot be had


def br_netfilter_script() -> str:
    """Load br_netfilter if needed (nodes are privileged and see the host's modules), then
    let iptables see bridged traffic; exit BR_NETFILTER_MISSING when the module is not there.

    dockerd loaded the module itself before Docker 27.3; it no longer does, and kind does not
    either. Without it a reply from a same-node CoreDNS pod skips the reverse NAT.
    """
    return (
        "modprobe br_netfilter 2>/dev/null; "
        f"[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || exit {BR_NETFILTER_MISSING}; "
        "sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1"
    )


def bridge_plugin_script() -> str:
    """Add the CNI `bridge` plugin, which kind's node image lacks, for the node's architecture
    (kind nodes are arm64 on Apple silicon and arm64 Linux)."""
    url = (
        "https://github.com/containernetworking/plugins/releases/download/"
        f"{CNI_PLUGINS_VERSION}/cni-plugins-linux-$arch-{CNI_PLUGINS_VERSION}.tgz"
    )
    return (
        'case "$(uname -m)" in aarch64|arm64) arch=arm64 ;; *) arch=amd64 ;; esac; '
        f"curl -fsSL {url} | tar -xz -C /opt/cni/bin ./bridge"
    )


def kubectl_apply(kubectl: str, kubeconfig: str, context: str, manifest: str) -> list[str]:
    return [kubectl, "--kubeconfig", kubeconfig, "--context", context, "apply", "-f", manifest]


def helm_install(helm: str, chart: HelmChart, kubeconfig: str, context: str) -> list[str]:
    """Install or upgrade the released chart at its pinned version (idempotent for reruns)."""
    argv = [helm, "upgrade", "--install", chart.chart, chart.chart, "--repo", chart.repo]
    argv += ["--version", chart.version, "--namespace", chart.namespace]
    argv += ["--kubeconfig", kubeconfig, "--kube-context", context]
    return argv + [arg for value in chart.values for arg in ("--set", value)]
