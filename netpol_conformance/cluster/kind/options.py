"""The kind backend's own pytest options, and reading them into one value.

``--kind-image``, ``--kind-bin`` and ``--kind-kubectl-bin`` are pytest-kind-ng's options; they are
added here only when that plugin is not loaded. ``--k8s-version`` is ours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from netpol_conformance.cluster.kind.versions import NODE_IMAGES, NodeImage, node_image


@dataclass(frozen=True)
class KindOptions:
    k8s_version: str | None = None
    image: str | None = None
    kind_bin: str | None = None
    kubectl_bin: str | None = None
    cni_manifest: str | None = (
        None  # another release of a manifest-installed CNI (an upgrade's start)
    )
    logs: str | None = None  # export the cluster's logs here before it is deleted

    def node_image(self) -> NodeImage:
        """The chosen node image; a UsageError for an unknown version or both options."""
        return node_image(self.k8s_version, self.image)


def add_kind_options(add: Callable[..., Any]) -> None:
    """Register the options on a pytest option group (``group.addoption``)."""
    minors = ", ".join(sorted(NODE_IMAGES))
    add(
        "--k8s-version",
        dest="netpol_k8s_version",
        default=None,
        metavar="X.Y",
        help=f"--cluster kind: Kubernetes minor of the pinned node image: {minors}",
    )
    add(
        "--cni-manifest",
        dest="netpol_cni_manifest",
        default=None,
        metavar="URL",
        help="--cluster kind: install the CNI from this manifest instead of its pinned release "
        "(calico, weave, flannel), e.g. an older release to upgrade from",
    )
    add(
        "--kind-logs",
        dest="netpol_kind_logs",
        default=None,
        metavar="DIR",
        help="--cluster kind: before the cluster is deleted (after the run, or after a failed "
        "set-up), `kind export logs DIR`: every node's kubelet, containerd and pod logs",
    )


def kind_options(opt: Callable[[str], Any]) -> KindOptions:
    """Read the options through ``opt(dest)``; an option nobody registered reads as unset."""

    def get(name: str) -> str | None:
        try:
            value = opt(name)
        except (KeyError, ValueError):  # pytest raises ValueError for an unknown option
            return None
        return str(value) if value else None

    options = KindOptions(
        k8s_version=get("netpol_k8s_version"),
        image=get("kind_image"),
        kind_bin=get("kind_bin"),
        kubectl_bin=get("kind_kubectl_bin"),
        cni_manifest=get("netpol_cni_manifest"),
        logs=get("netpol_kind_logs"),
    )
    options.node_image()  # validate now: a bad value is a usage error before anything runs
    return options
