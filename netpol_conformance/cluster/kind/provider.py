"""A throw-away kind cluster with the CNI under test.

``prepare`` checks Docker, picks the binaries and the pinned node image, creates the cluster (or
reuses a kept one made for the same CNI and image), records it, installs the CNI, waits for it
and starts the external host. A set-up that fails after the cluster exists deletes it again,
unless ``--keep-cluster`` asks to keep it, in which case the error says how to remove it.
"""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from filelock import FileLock

from netpol_conformance.cluster.base import ClusterInfo, Progress
from netpol_conformance.cluster.kind.commands import (
    Heartbeat,
    Runner,
    checked_run,
    docker_preflight,
    export_logs,
    run_command,
)
from netpol_conformance.cluster.kind.config import kind_config_yaml
from netpol_conformance.cluster.kind.external import ExternalHostContainer, kind_network
from netpol_conformance.cluster.kind.host import Engine, host_problems, read_host_file
from netpol_conformance.cluster.kind.install_steps import (
    bridge_plugin_script,
    helm_install,
    kubectl_apply,
)
from netpol_conformance.cluster.kind.node_setup import enable_br_netfilter, wait_for_policy_tables
from netpol_conformance.cluster.kind.options import KindOptions
from netpol_conformance.cluster.kind.ready import kube_reader, not_ready_pods, wait_until_ready
from netpol_conformance.cluster.kind.state import (
    CREATING,
    INSTALLING,
    READY,
    ClusterState,
    StateFile,
)
from netpol_conformance.cluster.kind.tools import ToolFinder, Tools
from netpol_conformance.cluster.kind.versions import NodeImage, cni_support_note
from netpol_conformance.cluster.kube import KubeBackend
from netpol_conformance.cluster.providers import Provider, connect_kube
from netpol_conformance.cni import PROFILES, CniProfile, KindInstall, detect_version
from netpol_conformance.errors import ConformanceError, SetupError, UsageError


class KindProvider(Provider):
    def __init__(
        self,
        profile: CniProfile,
        name: str,
        keep: bool,
        server_image: str,
        state_dir: Path,
        options: KindOptions | None = None,
        external_ports: Sequence[int] = (),
        run: Runner = run_command,
        which: Callable[[str], str | None] = shutil.which,
        tools: ToolFinder | None = None,
        environ: Mapping[str, str] = os.environ,
        wait_timeout: float = 600.0,
        read_host: Callable[[str], str | None] = read_host_file,
        system: str | None = None,
    ) -> None:
        super().__init__(profile)
        if profile.kind is None:
            known = ", ".join(n for n, p in PROFILES.items() if p.kind)
            raise UsageError(f"--cluster kind supports --cni {known}; got {profile.name!r}")
        self.name, self.keep, self.server_image = name, keep, server_image
        self.state_dir = state_dir
        self.options = options or KindOptions()
        # The step-4 host's ports (topology.yaml's external.ports, passed in by the suite).
        self.external_ports = tuple(external_ports)
        if self.options.cni_manifest and profile.kind.manifest is None:
            raise UsageError(
                f"--cni-manifest works for CNIs kind installs from a manifest; {profile.name} "
                "comes from a Helm chart or the node image"
            )
        self.run, self.which = run, which
        self.tool_finder = tools
        self.network = kind_network(environ)
        self.docker_host = environ.get("DOCKER_HOST")
        self.read_host = read_host
        self.system = system or platform.system().lower()
        self.wait_timeout = wait_timeout
        self.engine_timeout = 90.0  # seconds for a fail-open CNI's policy table to appear
        self.state = StateFile(state_dir, name)

    # --- names and paths

    @property
    def install(self) -> KindInstall:
        assert self.profile.kind is not None  # checked in __init__
        return self.profile.kind

    @property
    def manifest(self) -> str | None:
        """The CNI's manifest: --cni-manifest, or the pinned release's."""
        return self.options.cni_manifest or self.install.manifest

    @property
    def context(self) -> str:
        return f"kind-{self.name}"

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / f"{self.name}.kubeconfig"

    @property
    def external(self) -> ExternalHostContainer:
        return ExternalHostContainer(
            self.run,
            f"{self.name}-external-db",
            self.server_image,
            self.network,
            self.external_ports,
        )

    @property
    def delete_command(self) -> str:
        return f"kind delete cluster --name {self.name}"

    # --- set-up

    def prepare(self, progress: Progress) -> ClusterInfo:
        heartbeat = Heartbeat(progress)
        engine = Engine.parse(docker_preflight(self.run, self.which))
        image = self.options.node_image()
        problems = host_problems(image, engine, self.system, self.docker_host, self.read_host)
        if problems:
            raise SetupError("this host cannot run the kind cluster:\n  " + "\n  ".join(problems))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        finder = self.tool_finder or ToolFinder(
            self.run, self.state_dir / "bin", progress, which=self.which
        )
        tools = finder.find(
            self.options.kind_bin,
            self.options.kubectl_bin,
            need_kindnet=self.profile.name == "kindnet",
            need_helm=self.install.helm is not None,
            server=image.kubernetes,
        )
        self._announce(tools, image, progress)
        with FileLock(str(self.state_dir / f"{self.name}.lock")):
            state = self._ensure_cluster(tools, image, heartbeat)
            try:
                info = self._set_up(tools, image, state, heartbeat)
            except BaseException as exc:
                self._after_failure(tools, exc, progress)
                raise
        return info

    def _announce(self, tools: Tools, image: NodeImage, progress: Progress) -> None:
        install = self.install
        cni = f"{self.profile.name} {install.version}" if install.version else "kindnet (kind's)"
        source = install.source
        if self.options.cni_manifest:
            cni, source = self.profile.name, f"{self.options.cni_manifest} (--cni-manifest)"
        progress(
            f"kind {tools.kind_version} ({tools.kind}), Kubernetes {image.kubernetes} "
            f"({image.ref}), {cni} from {source}"
        )
        note = cni_support_note(self.profile.name, install, image.kubernetes)
        if note:
            progress(f"warning: {note}")

    def _set_up(
        self, tools: Tools, image: NodeImage, state: ClusterState, heartbeat: Heartbeat
    ) -> ClusterInfo:
        self._export_kubeconfig(tools)
        info = ClusterInfo(
            "kind",
            self.profile.name,
            str(self.kubeconfig),
            self.context,
            kubernetes_version=image.kubernetes,
            cni_version=""
            if self.options.cni_manifest  # as its DaemonSet's image shows it, once it runs
            else self.install.version or f"kind {state.kind_version}",
            extra={"kind": tools.kind, "kind_version": tools.kind_version, "node_image": image.ref},
        )
        if state.status != READY:
            self._install_cni(tools, heartbeat)
        self._wait_ready(info, heartbeat)
        if self.install.policy_table:  # a CNI that fails open: its engine must be running
            table, nodes = self.install.policy_table, self._nodes(tools.kind)
            name = self.profile.name
            wait_for_policy_tables(self.run, nodes, table, name, heartbeat, self.engine_timeout)
        if self.options.cni_manifest:
            info = replace(info, cni_version=self._running_version(info))
        external = self.external.ensure(heartbeat.say)
        placement = self._placement(tools)
        self.state.save(replace(state, status=READY))
        return replace(info, external_ip=external, placement=placement)

    def _after_failure(self, tools: Tools, exc: BaseException, progress: Progress) -> None:
        """Never leave a half-made cluster behind silently."""
        if self.keep:
            progress(
                f"kind: keeping the cluster {self.name} after the failed set-up (--keep-cluster); "
                f"the next run continues it, or remove it with `{self.delete_command}`"
            )
            return
        self._export_logs(tools.kind, progress)
        progress(f"kind: deleting the cluster {self.name} after the failed set-up")
        self._delete(tools.kind)
        if isinstance(exc, ConformanceError):
            exc.args = (f"{exc} (the kind cluster {self.name} was deleted)",)

    def _check(self, argv: Sequence[str], what: str, heartbeat: Heartbeat | None = None) -> str:
        return checked_run(self.run, argv, what, heartbeat)

    # --- the cluster

    def _clusters(self, kind: str) -> list[str]:
        return self._check([kind, "get", "clusters"], "kind get clusters").split()

    def _ensure_cluster(self, tools: Tools, image: NodeImage, heartbeat: Heartbeat) -> ClusterState:
        exists = self.name in self._clusters(tools.kind)
        state = self.state.load()
        if exists and state is None:
            raise SetupError(
                f"a kind cluster named {self.name} exists, but the suite has no record of making "
                f"it ({self.state.path}): delete it with `{self.delete_command}`, or pass "
                "--cluster-name OTHER"
            )
        if exists and state is not None and state.status == CREATING:
            heartbeat.say(
                f"kind: the cluster {self.name} was not completely created: recreating it"
            )
            self._delete(tools.kind)
            exists = False
        if exists and state is not None:
            why = state.mismatch(self.profile.name, image.ref)
            if why:
                raise SetupError(
                    f"the kept kind cluster {self.name} cannot serve this run: {why}. Recreate "
                    f"it with `{self.delete_command}` and run again, or pass --cluster-name OTHER "
                    "to keep both"
                )
            heartbeat.say(f"kind: reusing the kept cluster {self.name} ({state.status})")
            return state
        return self._create(tools, image, heartbeat)

    def _create(self, tools: Tools, image: NodeImage, heartbeat: Heartbeat) -> ClusterState:
        state = ClusterState(
            self.name,
            self.profile.name,
            self.install.version,
            image.kubernetes,
            image.ref,
            tools.kind_version,
            CREATING,
        )
        self.state.save(state)  # before kind starts: an interrupted create is still ours
        config = self.state_dir / f"{self.name}.kind.yaml"
        config.write_text(kind_config_yaml(self.install))
        heartbeat.say(
            f"kind: creating cluster {self.name} (1 control plane, 2 workers, network "
            f"{self.network}); 1-3 minutes, more while the node image downloads"
        )
        argv = [
            tools.kind,
            "create",
            "cluster",
            "--name",
            self.name,
            "--image",
            image.ref,
            "--config",
            str(config),
            "--kubeconfig",
            str(self.kubeconfig),
        ]
        try:
            self._check(argv, "creating the kind cluster", heartbeat)
        except BaseException as exc:
            self._delete(tools.kind)  # kind removes a failed create's nodes; make sure
            if isinstance(exc, ConformanceError):
                exc.args = (f"{exc}\n(nothing was left behind: the cluster was deleted)",)
            raise
        state = replace(state, status=INSTALLING)
        self.state.save(state)
        return state

    def _export_kubeconfig(self, tools: Tools) -> None:
        """Write the cluster's kubeconfig afresh: a kept cluster's file may be gone."""
        text = self._check(
            [tools.kind, "get", "kubeconfig", "--name", self.name], "kind get kubeconfig"
        )
        self.kubeconfig.write_text(text)
        self.kubeconfig.chmod(0o600)

    def _export_logs(self, kind: str, progress: Progress) -> None:
        if self.options.logs:
            export_logs(self.run, kind, self.name, self.options.logs, progress)

    def _delete(self, kind: str) -> None:
        self.external.remove()
        self.run([kind, "delete", "cluster", "--name", self.name], timeout=300)
        self.state.remove()
        self.kubeconfig.unlink(missing_ok=True)

    def _nodes(self, kind: str) -> list[str]:
        out = self._check([kind, "get", "nodes", "--name", self.name], "kind get nodes")
        return sorted(out.split(), key=lambda n: (len(n), n))

    def _placement(self, tools: Tools) -> dict[str, str]:
        """The topology's node slots: slot a on the first worker, slot b on the second."""
        workers = [n for n in self._nodes(tools.kind) if not n.endswith("-control-plane")]
        if len(workers) < 2:
            raise SetupError(
                f"the kind cluster {self.name} has {len(workers)} worker(s), the suite needs 2: "
                f"recreate it with `{self.delete_command}`"
            )
        return {"a": workers[0], "b": workers[1]}

    # --- the CNI

    def _install_cni(self, tools: Tools, heartbeat: Heartbeat) -> None:
        install = self.install
        if install.needs_br_netfilter or install.needs_bridge_plugin:
            nodes = self._nodes(tools.kind)
            if install.needs_br_netfilter:
                enable_br_netfilter(self.run, nodes, self.profile.name, heartbeat)
            if install.needs_bridge_plugin:
                for node in nodes:
                    heartbeat.say(f"kind: adding the bridge CNI plugin to {node}")
                    self._check(
                        ["docker", "exec", node, "sh", "-c", bridge_plugin_script()],
                        f"installing the bridge plugin on {node}",
                    )
        what = f"installing {self.profile.name} {install.version}"
        if self.options.cni_manifest:
            what = f"installing {self.profile.name} from {self.options.cni_manifest}"
        kubeconfig = str(self.kubeconfig)
        if self.manifest is not None:
            argv = kubectl_apply(tools.kubectl, kubeconfig, self.context, self.manifest)
            self._check(argv, what, heartbeat)
        elif install.helm is not None:
            argv = helm_install(tools.helm or "helm", install.helm, kubeconfig, self.context)
            self._check(argv, what, heartbeat)

    def _wait_ready(self, info: ClusterInfo, heartbeat: Heartbeat) -> None:
        from kubernetes import client

        backend = self.connect(info)
        api = backend.api_client()
        heartbeat.restart()
        wait_until_ready(
            kube_reader(client.CoreV1Api(api), client.AppsV1Api(api), self.install),
            heartbeat,
            self.wait_timeout,
            explain=lambda: not_ready_pods(backend, self.install, self.name),
        )

    def _running_version(self, info: ClusterInfo) -> str:
        """The CNI's version as its DaemonSet's image shows it; "" when it does not."""
        try:
            return detect_version(self.profile, self.connect(info).daemonset_images())
        except ConformanceError:
            return ""

    # --- use and tear-down

    def connect(self, info: ClusterInfo) -> KubeBackend:
        return connect_kube(info)

    def finish(self, info: ClusterInfo, progress: Progress) -> None:
        if self.keep:
            progress(
                f"kind: keeping cluster {self.name} (--keep-cluster): the next run with --cni "
                f"{self.profile.name} on the same Kubernetes version reuses it; remove it with "
                f"`{self.delete_command}`"
            )
            return
        kind = str(info.extra.get("kind") or self.which("kind") or "kind")
        self._export_logs(kind, progress)
        progress(f"kind: deleting cluster {self.name}")
        self._delete(kind)
