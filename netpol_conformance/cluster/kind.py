"""A throw-away kind cluster with the CNI under test, through pytest-kind-ng.

kind runs on the user's Docker engine. The default CNI is disabled (except for ``kindnet``),
the CNI is installed from a pinned manifest, and the step-4 external database is a container
on the kind network: outside the pod network, reachable from pods.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from filelock import FileLock

from netpol_conformance.cluster.base import ClusterInfo, Progress
from netpol_conformance.cluster.kube import KubeBackend
from netpol_conformance.cluster.providers import Provider, connect_kube
from netpol_conformance.cni import PROFILES, CniProfile, KindInstall
from netpol_conformance.errors import SetupError, UsageError

KIND_VERSION = "v0.30.0"
KUBECTL_VERSION = "v1.34.2"
KIND_CONFIGS = Path(__file__).resolve().parents[2] / "scripts" / "kind"
CNI_PLUGINS_VERSION = "v1.6.2"


Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=900)


class KindProvider(Provider):
    def __init__(
        self,
        profile: CniProfile,
        name: str,
        keep: bool,
        server_image: str,
        state_dir: Path,
        run: Runner = _run,
        wait_timeout: float = 600.0,
    ) -> None:
        super().__init__(profile)
        if profile.kind is None:
            known = ", ".join(n for n, p in PROFILES.items() if p.kind)
            raise UsageError(f"--cluster kind supports --cni {known}; got {profile.name!r}")
        self.name, self.keep, self.server_image = name, keep, server_image
        self.state_dir = state_dir
        self.run = run
        self.wait_timeout = wait_timeout
        self.kubectl = shutil.which("kubectl")

    @property
    def install(self) -> KindInstall:
        assert self.profile.kind is not None  # checked in __init__
        return self.profile.kind

    @property
    def external_container(self) -> str:
        return f"{self.name}-external-db"

    def _check(self, argv: Sequence[str], what: str) -> str:
        result = self.run(argv)
        if result.returncode != 0:
            raise SetupError(f"{what} failed ({' '.join(argv)}):\n{result.stderr.strip()[-2000:]}")
        return result.stdout

    def _preflight(self) -> None:
        if shutil.which("docker") is None:
            raise SetupError(
                "--cluster kind needs Docker: install it, or run against another cluster with "
                "--cluster existing --kube-context NAME"
            )
        if self.run(["docker", "info", "--format", "{{.ServerVersion}}"]).returncode != 0:
            raise SetupError("the Docker engine is not running (docker info failed): start it")

    def _cluster(self):  # pytest_kind.KindCluster
        import pytest_kind.cluster as kind_cluster

        kind_cluster.KIND_VERSION = kind_cluster.os.environ.get("KIND_VERSION", KIND_VERSION)
        kind_cluster.KUBECTL_VERSION = kind_cluster.os.environ.get(
            "KUBECTL_VERSION", KUBECTL_VERSION
        )
        kind = shutil.which("kind")
        return kind_cluster.KindCluster(
            self.name,
            kubeconfig=self.state_dir / f"{self.name}.kubeconfig",
            kind_path=Path(kind) if kind else None,
            kubectl_path=Path(self.kubectl) if self.kubectl else None,
        )

    def prepare(self, progress: Progress) -> ClusterInfo:
        self._preflight()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.state_dir / f"{self.name}.lock")):
            cluster = self._cluster()
            config = KIND_CONFIGS / f"{self.profile.name}.yaml"
            progress(
                f"kind: creating or reusing cluster {self.name} ({config.name}); a new "
                "cluster takes 1-3 minutes"
            )
            try:
                cluster.create(config_file=config)
            except subprocess.CalledProcessError as exc:
                raise SetupError(f"kind create cluster failed (exit {exc.returncode})") from None
            info = ClusterInfo(
                "kind", self.profile.name, str(cluster.kubeconfig_path), f"kind-{self.name}"
            )
            self._install_cni(cluster, progress)
            backend = self.connect(info)
            self._wait_ready(backend, progress)
            external = self._external(progress)
        return ClusterInfo(info.backend, info.cni, info.kubeconfig, info.context, external)

    def _install_cni(self, cluster, progress: Progress) -> None:
        install = self.install
        if install.manifest is None:
            return
        if install.needs_bridge_plugin:
            self._install_bridge_plugin(str(cluster.kind_path), progress)
        progress(f"kind: applying {install.manifest}")
        try:
            cluster.kubectl("apply", "-f", install.manifest)
        except subprocess.CalledProcessError as exc:
            raise SetupError(f"installing {self.profile.name} failed: {exc.output}") from None

    def _install_bridge_plugin(self, kind: str, progress: Progress) -> None:
        # The node's own architecture: kind nodes are arm64 on Apple silicon and arm64 Linux.
        url = (
            "https://github.com/containernetworking/plugins/releases/download/"
            f"{CNI_PLUGINS_VERSION}/cni-plugins-linux-$arch-{CNI_PLUGINS_VERSION}.tgz"
        )
        script = (
            'case "$(uname -m)" in aarch64|arm64) arch=arm64 ;; *) arch=amd64 ;; esac; '
            f"curl -fsSL {url} | tar -xz -C /opt/cni/bin ./bridge"
        )
        nodes = self._check([kind, "get", "nodes", "--name", self.name], "kind get nodes")
        for node in nodes.split():
            progress(f"kind: adding the bridge CNI plugin to {node}")
            self._check(
                [
                    "docker",
                    "exec",
                    node,
                    "sh",
                    "-c",
                    script,
                ],
                f"installing the bridge plugin on {node}",
            )

    def _wait_ready(self, backend: KubeBackend, progress: Progress) -> None:
        """Wait for the CNI's DaemonSet and CoreDNS to be Ready, with a progress line."""
        from kubernetes import client

        api = backend.api_client()
        apps = client.AppsV1Api(api)
        ds_ns, ds_name = self.install.daemonset
        deadline = time.monotonic() + self.wait_timeout
        last = ""
        while True:
            try:
                ds = apps.read_namespaced_daemon_set(ds_name, ds_ns)
                dns = apps.read_namespaced_deployment("coredns", "kube-system")
                cni_ready = ds.status.number_ready or 0
                cni_want = ds.status.desired_number_scheduled or 0
                dns_ready = dns.status.ready_replicas or 0
                dns_want = dns.spec.replicas or 0
            except client.ApiException as exc:
                if exc.status != 404:
                    raise SetupError(f"waiting for {ds_ns}/{ds_name}: {exc.reason}") from None
                cni_ready = cni_want = dns_ready = dns_want = 0
            line = (
                f"kind: {ds_name} {cni_ready}/{cni_want} ready, "
                f"coredns {dns_ready}/{dns_want} ready"
            )
            if cni_want and cni_ready == cni_want and dns_want and dns_ready == dns_want:
                progress(line)
                return
            if line != last:
                progress(line)
                last = line
            if time.monotonic() > deadline:
                raise SetupError(
                    f"the CNI did not become Ready in {self.wait_timeout:.0f}s: {line}"
                )
            time.sleep(2)

    def _external(self, progress: Progress) -> str:
        """A container on the kind network listening on 80 and 5432: the external database."""
        name = self.external_container
        inspect = self.run(["docker", "inspect", name])
        if inspect.returncode != 0:
            progress(f"kind: starting the external host {name}")
            conf = "server { listen 80; listen 5432; location / { return 200 'external-db'; } }"
            start = (
                f"echo \"{conf}\" > /etc/nginx/conf.d/default.conf && exec nginx -g 'daemon off;'"
            )
            self._check(
                [
                    "docker",
                    "run",
                    "-d",
                    "--name",
                    name,
                    "--network",
                    "kind",
                    "--label",
                    "netpol-conformance.io/managed=true",
                    "--entrypoint",
                    "sh",
                    self.server_image,
                    "-c",
                    start,
                ],
                "starting the external host",
            )
            inspect = self.run(["docker", "inspect", name])
        data = json.loads(inspect.stdout)[0]
        if not data.get("State", {}).get("Running", True):  # e.g. after a Docker restart
            progress(f"kind: starting the stopped external host {name}")
            self._check(["docker", "start", name], "starting the external host")
            data = json.loads(self._check(["docker", "inspect", name], "docker inspect"))[0]
        networks = data["NetworkSettings"]["Networks"]
        ip = networks.get("kind", {}).get("IPAddress")
        if not ip:
            raise SetupError(
                f"the external host {name} has no address on the kind network: remove it with "
                f"`docker rm -f {name}` and run again"
            )
        return str(ip)

    def connect(self, info: ClusterInfo) -> KubeBackend:
        return connect_kube(info)

    def finish(self, info: ClusterInfo, progress: Progress) -> None:
        if self.keep:
            progress(f"kind: keeping cluster {self.name} (--keep-cluster); it is reused next run")
            return
        progress(f"kind: deleting cluster {self.name}")
        self.run(["docker", "rm", "-f", self.external_container])
        self._cluster().delete()
