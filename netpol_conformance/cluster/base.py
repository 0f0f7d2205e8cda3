"""The one small interface every cluster backend implements.

A backend creates and deletes objects, reports pods, runs a command in a pod and tears down.
It knows nothing about what a NetworkPolicy means.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netpol_conformance.cluster.policy_api import PolicyApi
from netpol_conformance.model.addresses import plain_address

MANAGED_LABEL = "netpol-conformance.io/managed"
RUN_LABEL = "netpol-conformance.io/run"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ExecResult:
    returncode: int
    stdout: str
    stderr: str = ""
    error: str = ""  # the exec itself failed (pod gone, API error, timeout)


@dataclass(frozen=True)
class PodState:
    namespace: str
    name: str
    ip: str
    ready: bool
    phase: str = ""
    message: str = ""
    node: str = ""  # the node it was scheduled on; "" when not known (yet)


@dataclass(frozen=True)
class NodeFacts:
    """What a node shows about itself: enough to recognise a CNI that runs outside pods."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClusterInfo:
    """What a worker process needs to attach to a cluster that the controller prepared."""

    backend: str
    cni: str
    kubeconfig: str = ""
    context: str = ""
    external_ip: str | None = None  # the step-4 target: a real host outside the pod network
    kubernetes_version: str = ""  # as chosen or reported, e.g. v1.35.8
    cni_version: str = ""  # as installed or as its DaemonSet's image tag shows it, if it does
    images: Mapping[str, str] = field(default_factory=dict)
    image_pull_policy: str = "IfNotPresent"
    extra: Mapping[str, Any] = field(default_factory=dict)
    placement: Mapping[str, str] = field(default_factory=dict)  # topology node slot -> node


class Backend(ABC):
    """A live cluster, as the suite uses it."""

    info: ClusterInfo

    @abstractmethod
    def apply(self, objects: Sequence[Mapping[str, Any]]) -> None:
        """Create or replace these objects (Namespace, Pod, ConfigMap, NetworkPolicy)."""

    @abstractmethod
    def delete(self, objects: Sequence[Mapping[str, Any]]) -> None:
        """Delete these objects if they exist."""

    @abstractmethod
    def pods(self, namespaces: Sequence[str]) -> list[PodState]:
        """Current state of every pod in these namespaces."""

    @abstractmethod
    def exec(
        self, namespace: str, pod: str, container: str, argv: Sequence[str], timeout: float
    ) -> ExecResult:
        """Run argv in a container and return what it printed. Never raises for exec failures."""

    def run_script(
        self, namespace: str, pod: str, container: str, script: str, timeout: float
    ) -> ExecResult:
        """Run a POSIX sh script in a container (``sh -c``). A backend may keep a shell open
        per container for it; the result is the same. Never raises for exec failures."""
        return self.exec(namespace, pod, container, ["sh", "-c", script], timeout)

    @abstractmethod
    def delete_namespaces(self, label_selector: str) -> list[str]:
        """Delete every namespace matching the selector; return their names."""

    @abstractmethod
    def network_policies(self, namespace: str) -> list[dict[str, Any]]:
        """The NetworkPolicies stored in a namespace, as the API server returns them."""

    @abstractmethod
    def cni_components(self) -> list[str]:
        """Names of what runs the pod network (kube-system pods, host agents), for preflight."""

    def label(
        self,
        kind: str,
        namespace: str,
        name: str,
        set_: Mapping[str, str],
        remove: Sequence[str] = (),
    ) -> None:
        """Set and remove labels on a Pod or a Namespace (``kubectl label``), in one change."""
        raise NotImplementedError(f"the {self.info.backend} backend cannot change labels")

    def policy_api(self) -> PolicyApi:
        """The NetworkPolicy API itself: create, get, list, watch, patch, update, delete."""
        raise NotImplementedError(f"the {self.info.backend} backend has no NetworkPolicy API")

    def node_facts(self) -> list[NodeFacts]:
        """Every node's name, labels and annotations."""
        return []

    def daemonset_images(self) -> dict[str, list[str]]:
        """Every DaemonSet of the cluster (``namespace/name``) with its containers' images."""
        return {}


def cluster_fact_problems(info: ClusterInfo) -> list[str]:
    """What is wrong with a cluster's description, each a line: one bad fact must stop the run
    once, at its start, not fail every test that reads it."""
    problems = []
    if info.external_ip is not None:
        try:
            plain_address(info.external_ip)
        except ValueError as exc:
            problems.append(
                f"the {info.backend} cluster gives {info.external_ip!r} as the external host's "
                f"address, which is not an IP address ({exc})"
            )
    for container, image in info.images.items():
        if not isinstance(image, str) or not image.strip():
            problems.append(f"the {info.backend} cluster gives no image for {container!r}")
    return problems
