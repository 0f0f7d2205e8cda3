"""Where a real cluster comes from: borrowed by context, or the local one on this machine.

A provider prepares a cluster once per session (``prepare``), every worker process connects
to it (``connect``), and at the end the provider removes whatever it made (``finish``).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from abc import ABC, abstractmethod
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netpol_conformance.cluster.base import Backend, ClusterInfo, Progress
from netpol_conformance.cni import CniProfile, detect_version
from netpol_conformance.errors import SetupError

if TYPE_CHECKING:
    from netpol_conformance.cluster.kube import KubeBackend


def info_to_json(info: ClusterInfo) -> str:
    return json.dumps(asdict(info))


def info_from_json(text: str) -> ClusterInfo:
    data: dict[str, Any] = json.loads(text)
    return ClusterInfo(**data)


class Provider(ABC):
    def __init__(self, profile: CniProfile) -> None:
        self.profile = profile

    @abstractmethod
    def prepare(self, progress: Progress) -> ClusterInfo:
        """Make the cluster usable (create it if needed) and describe it."""

    @abstractmethod
    def connect(self, info: ClusterInfo) -> Backend:
        """A backend for this process."""

    def finish(self, info: ClusterInfo, progress: Progress) -> None:  # noqa: B027 - optional
        """Remove what ``prepare`` made."""


def connect_kube(info: ClusterInfo) -> KubeBackend:
    from netpol_conformance.cluster.kube import KubeBackend

    return KubeBackend(info)


class ExistingProvider(Provider):
    """Any cluster, by an explicit kubeconfig context: never the current one by accident."""

    def __init__(
        self, profile: CniProfile, kubeconfig: str, context: str, external_ip: str | None
    ) -> None:
        super().__init__(profile)
        self.kubeconfig, self.context, self.external_ip = kubeconfig, context, external_ip

    def prepare(self, progress: Progress) -> ClusterInfo:
        info = ClusterInfo(
            "existing", self.profile.name, self.kubeconfig, self.context, self.external_ip
        )
        backend = self.connect(info)
        version = backend.check_reachable()
        cni_version = detect_version(self.profile, backend.daemonset_images())
        progress(
            f"using context {self.context} (Kubernetes {version}, "
            f"{self.profile.name} {cni_version or 'version not shown'})"
        )
        return dataclasses.replace(info, kubernetes_version=version, cni_version=cni_version)

    def connect(self, info: ClusterInfo) -> KubeBackend:
        return connect_kube(info)


def local_cni_check(data: dict[str, Any], cni: str, remedy: str) -> bool:
    """Whether the local cluster (its ``info``) can run ``--cni cni``: True when it can only
    because that CNI's policy controller was switched off in place (``cni switch none``);
    SetupError when it runs another CNI."""
    if data["cni"] == cni:
        return False
    if data.get("switched_off") == cni:
        return True
    raise SetupError(f"the local cluster runs --cni {data['cni']}, not {cni}: run {remedy}")


def local_cni_version(data: dict[str, Any], switched_off: bool) -> str:
    """The release the local cluster's ``info`` gives; when the policy controller under test is
    switched off, that it is, and what runs instead (the node's plain bridge); and the fault
    that ``scripts/local-cluster fault`` put into its dataplane, if any."""
    version = str(data.get("cni_version") or "")
    if switched_off:
        version = f"switched off ({' '.join(filter(None, (data['cni'], version)))})"
    if data.get("fault"):
        version = f"{version} with the fault {data['fault']}".lstrip()
    if data.get("stopped_on"):
        version = f"{version} stopped on {', '.join(data['stopped_on'])}".lstrip()
    return version


def local_placement(data: dict[str, Any]) -> dict[str, str]:
    """The topology's node slots on the local cluster: on two nodes (``up --nodes 2``) slot a
    on the first and slot b on the second, as on kind's two workers; on one, none."""
    nodes = [str(n) for n in data.get("nodes") or ()]
    return {"a": nodes[0], "b": nodes[1]} if len(nodes) > 1 else {}


class LocalProvider(Provider):
    """The cluster (one node, or two with ``up --nodes 2``) that scripts/local-cluster runs on
    this machine."""

    def __init__(self, profile: CniProfile, script: Path) -> None:
        super().__init__(profile)
        self.script = script

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [str(self.script), *args], capture_output=True, text=True, timeout=60, check=False
            )
        except FileNotFoundError:
            raise SetupError(
                f"{self.script} is missing: the local cluster is run by scripts/local-cluster of a "
                "netpol-conformance checkout; run from there or pass --local-cluster-script PATH"
            ) from None

    def prepare(self, progress: Progress) -> ClusterInfo:
        up = f"{self.script} up --cni {self.profile.name}"
        status = self._run("status")
        if status.returncode != 0:
            raise SetupError(f"the local cluster is not up ({status.stdout.strip()}): run {up}")
        data = json.loads(self._run("info").stdout)
        switched_off = local_cni_check(data, self.profile.name, f"{self.script} down && {up}")
        if switched_off:
            progress(
                f"the local cluster's {self.profile.name} is switched off (`cni switch none`): "
                "its profile is tested against a cluster that enforces nothing; "
                f"`{self.script} cni switch {self.profile.name}` turns it on again"
            )
        ext = data.get("external")
        agents = [self.profile.local_agent] if self.profile.local_agent and not switched_off else []
        info = ClusterInfo(
            backend="local",
            cni=data["cni"],
            kubeconfig=data["kubeconfig"],
            context="netpol-local",
            external_ip=ext["ip"] if ext else None,
            images=data.get("images", {}),
            image_pull_policy=data.get("image_pull_policy", "Never"),
            # kube-router and flanneld run on the node as processes here, not as pods.
            extra={"host_agents": [f"{a} (node process)" for a in agents]},
            placement=local_placement(data),
        )
        version = connect_kube(info).check_reachable()
        cni_version = local_cni_version(data, switched_off)
        name = self.profile.name if switched_off else info.cni
        progress(f"local cluster up: Kubernetes {version}, cni {name} {cni_version}".rstrip())
        return dataclasses.replace(info, kubernetes_version=version, cni_version=cni_version)

    def connect(self, info: ClusterInfo) -> KubeBackend:
        return connect_kube(info)
