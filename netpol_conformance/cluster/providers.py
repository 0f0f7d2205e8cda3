"""Where the cluster comes from: made for the session, borrowed, or simulated.

A provider prepares a cluster once per session (``prepare``), every worker process connects
to it (``connect``), and at the end the provider removes whatever it made (``finish``).
"""

from __future__ import annotations

import json
import subprocess
from abc import ABC, abstractmethod
from dataclasses import asdict
from pathlib import Path
from typing import Any

from netpol_conformance.cluster.base import Backend, ClusterInfo, ExternalHost, Progress
from netpol_conformance.cluster.faults import Faults
from netpol_conformance.cni import CniProfile
from netpol_conformance.errors import SetupError, UsageError

LOCAL_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "local-cluster"


def info_to_json(info: ClusterInfo) -> str:
    return json.dumps(asdict(info))


def info_from_json(text: str) -> ClusterInfo:
    data: dict[str, Any] = json.loads(text)
    ext = data.pop("external", None)
    return ClusterInfo(
        **data, external=ExternalHost(ext["name"], ext["ip"], tuple(ext["ports"])) if ext else None
    )


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


class SimulatedProvider(Provider):
    def __init__(self, profile: CniProfile, faults: Faults, delay: float, probe_timeout: float):
        super().__init__(profile)
        self.faults, self.delay, self.probe_timeout = faults, delay, probe_timeout

    def prepare(self, progress: Progress) -> ClusterInfo:
        return self.connect(None).info  # type: ignore[arg-type]

    def connect(self, info: ClusterInfo) -> Backend:
        from netpol_conformance.cluster.simulated import SimulatedCluster

        return SimulatedCluster(self.profile, self.faults, self.delay, self.probe_timeout)


def _connect_kube(info: ClusterInfo) -> Backend:
    from netpol_conformance.cluster.kube import KubeBackend

    return KubeBackend(info)


class ExistingProvider(Provider):
    """Any cluster, by an explicit kubeconfig context: never the current one by accident."""

    def __init__(
        self, profile: CniProfile, kubeconfig: str, context: str | None, external_ip: str | None
    ) -> None:
        super().__init__(profile)
        if not context:
            raise UsageError(
                "--cluster existing needs --kube-context NAME: the suite creates namespaces and "
                "pods, so it never guesses the cluster from your current context"
            )
        self.kubeconfig, self.context, self.external_ip = kubeconfig, context, external_ip

    def prepare(self, progress: Progress) -> ClusterInfo:
        external = ExternalHost("external-db", self.external_ip) if self.external_ip else None
        info = ClusterInfo("existing", self.profile.name, self.kubeconfig, self.context, external)
        backend = self.connect(info)
        version = backend.check_reachable()  # type: ignore[attr-defined]
        progress(f"using context {self.context} (Kubernetes {version})")
        return info

    def connect(self, info: ClusterInfo) -> Backend:
        return _connect_kube(info)


class LocalProvider(Provider):
    """The single-node cluster that scripts/local-cluster runs on this machine."""

    def __init__(self, profile: CniProfile, script: Path = LOCAL_SCRIPT) -> None:
        super().__init__(profile)
        self.script = script

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [str(self.script), *args], capture_output=True, text=True, timeout=60, check=False
            )
        except FileNotFoundError:
            raise SetupError(f"{self.script} is missing: run the suite from a checkout") from None

    def prepare(self, progress: Progress) -> ClusterInfo:
        up = f"{self.script} up --cni {self.profile.name}"
        status = self._run("status")
        if status.returncode != 0:
            raise SetupError(f"the local cluster is not up ({status.stdout.strip()}): run {up}")
        data = json.loads(self._run("info").stdout)
        if data["cni"] != self.profile.name:
            raise SetupError(
                f"the local cluster runs --cni {data['cni']}, not {self.profile.name}: run "
                f"{self.script} down && {up}"
            )
        ext = data.get("external")
        agents = [self.profile.local_agent] if self.profile.local_agent else []
        info = ClusterInfo(
            backend="local",
            cni=data["cni"],
            kubeconfig=data["kubeconfig"],
            context="netpol-local",
            external=ExternalHost("external-db", ext["ip"], tuple(ext["ports"])) if ext else None,
            images=data.get("images", {}),
            image_pull_policy=data.get("image_pull_policy", "Never"),
            # kube-router and flanneld run on the node as processes here, not as pods.
            extra={"host_agents": [f"{a} (node process)" for a in agents]},
        )
        version = _connect_kube(info).check_reachable()  # type: ignore[attr-defined]
        progress(f"local cluster up: Kubernetes {version}, cni {info.cni}")
        return info

    def connect(self, info: ClusterInfo) -> Backend:
        return _connect_kube(info)
