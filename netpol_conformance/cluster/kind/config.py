"""The kind cluster configuration for a CNI, rendered from the CNI table at run time.

Every cluster has one control plane and two workers, so that the tutorial's pods are spread
over two nodes and both same-node and cross-node paths are probed. kube-proxy is kept in
iptables mode (kind's default) for every CNI: the suite tests the CNI's policy enforcement, not
a kube-proxy replacement.
"""

from __future__ import annotations

from typing import Any

import yaml

from netpol_conformance.cni import KindInstall

WORKERS = 2
KUBE_PROXY_MODE = "iptables"


def kind_config(install: KindInstall, workers: int = WORKERS) -> dict[str, Any]:
    networking: dict[str, Any] = {
        "podSubnet": install.pod_subnet,
        "kubeProxyMode": KUBE_PROXY_MODE,
    }
    if install.disables_default_cni:
        networking["disableDefaultCNI"] = True
    return {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "networking": networking,
        "nodes": [{"role": "control-plane"}] + [{"role": "worker"} for _ in range(workers)],
    }


def kind_config_yaml(install: KindInstall, workers: int = WORKERS) -> str:
    return yaml.safe_dump(kind_config(install, workers), sort_keys=False)
