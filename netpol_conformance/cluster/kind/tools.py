"""The kind, kubectl and helm binaries the kind backend runs, for this machine's architecture.

A ``kind`` on PATH is used only if it is a patch release of the line the node images were built
for (a newer kind may not start them, an older one lacks what they need), and a ``kubectl`` on
PATH only if it is within one minor of the cluster's Kubernetes (kubectl's supported skew: the
runners of CI services carry the newest kubectl, two or three minors away). Otherwise the
pinned release is downloaded (through pytest-kind-ng) for this operating system and
architecture. pytest-kind-ng on its own always downloads amd64 binaries, which fail on
arm64 Linux with "Exec format error"; the download URL is therefore chosen here.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from netpol_conformance.cluster.base import Progress
from netpol_conformance.cluster.kind.commands import Runner
from netpol_conformance.cluster.kind.versions import (
    KIND_VERSION,
    KINDNET_POLICY_SINCE,
    KUBECTL_VERSION,
    at_least,
    minors_apart,
    parse_version,
    same_line,
)
from netpol_conformance.errors import SetupError

_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_SYSTEMS = ("linux", "darwin", "windows")


@dataclass(frozen=True)
class Platform:
    system: str  # linux, darwin, windows
    arch: str  # amd64, arm64

    @property
    def exe(self) -> str:
        return ".exe" if self.system == "windows" else ""

    def kind_url(self, version: str = KIND_VERSION) -> str:
        return (
            f"https://github.com/kubernetes-sigs/kind/releases/download/{version}/"
            f"kind-{self.system}-{self.arch}"
        )

    def kubectl_url(self, version: str = KUBECTL_VERSION) -> str:
        return (
            f"https://dl.k8s.io/release/{version}/bin/{self.system}/{self.arch}/kubectl{self.exe}"
        )


def this_platform(system: str | None = None, machine: str | None = None) -> Platform:
    """This machine as kind's and Kubernetes' release files name it; SetupError if unsupported."""
    system = (system or platform.system()).lower()
    machine = machine or platform.machine()
    arch = _ARCHES.get(machine.lower())
    if system not in _SYSTEMS or arch is None or (system == "windows" and arch != "amd64"):
        raise SetupError(
            f"no kind/kubectl release is downloaded for {system}/{machine}: install kind "
            f">= {KIND_VERSION} and kubectl yourself and put them on PATH (or pass --kind-bin "
            "and --kind-kubectl-bin)"
        )
    return Platform(system, arch)


@dataclass(frozen=True)
class Tools:
    kind: str
    kind_version: str
    kubectl: str
    helm: str | None = None


Downloader = Callable[[str, Path, str], None]  # what ("kind" or "kubectl"), target, URL


def _download_with_pytest_kind(what: str, target: Path, url: str) -> None:
    """Let pytest-kind-ng fetch one binary from the URL chosen for this machine."""
    import pytest_kind.cluster as kind_cluster

    variable = "KIND_DOWNLOAD_URL" if what == "kind" else "KUBECTL_DOWNLOAD_URL"
    cluster = kind_cluster.KindCluster("netpol-conformance", kind_path=target, kubectl_path=target)
    with _environment({variable: url}):
        if what == "kind":
            cluster.ensure_kind()
        else:
            cluster.ensure_kubectl()


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class ToolFinder:
    def __init__(
        self,
        run: Runner,
        cache: Path,
        progress: Progress,
        which: Callable[[str], str | None] = shutil.which,
        download: Downloader = _download_with_pytest_kind,
        machine: Platform | None = None,
    ) -> None:
        self.run, self.cache, self.progress = run, cache, progress
        self.which, self.download, self.machine = which, download, machine

    def kind_version(self, kind: str) -> str | None:
        result = self.run([kind, "version"], timeout=60)
        if result.returncode != 0:
            return None
        words = result.stdout.split()
        return words[1] if len(words) > 1 and parse_version(words[1]) else None

    def kubectl_version(self, kubectl: str) -> str | None:
        result = self.run([kubectl, "version", "--client", "-o", "json"], timeout=60)
        if result.returncode != 0:
            return None
        try:
            version = json.loads(result.stdout)["clientVersion"]["gitVersion"]
        except (ValueError, KeyError, TypeError):
            return None
        return version if isinstance(version, str) and parse_version(version) else None

    def find(
        self,
        kind_bin: str | None = None,
        kubectl_bin: str | None = None,
        need_kindnet: bool = False,
        need_helm: bool = False,
        server: str | None = None,
    ) -> Tools:
        """The binaries to run; ``server`` is the cluster's Kubernetes version, which kubectl
        must be within one minor of."""
        kind, version = self._kind(kind_bin)
        if need_kindnet and not at_least(version, KINDNET_POLICY_SINCE):
            raise SetupError(
                f"--cni kindnet needs kind >= {KINDNET_POLICY_SINCE} (kind {version} at {kind} has "
                "no NetworkPolicy controller, so every deny would fail): upgrade kind, or drop "
                "--kind-bin to use the pinned kind"
            )
        kubectl = self._kubectl(kubectl_bin, server)
        helm = self.which("helm") if need_helm else None
        if need_helm and helm is None:
            raise SetupError(
                "--cni cilium installs Cilium's released Helm chart and needs `helm` (v3 or "
                "later) on PATH: install it (https://helm.sh/docs/intro/install/) and run again"
            )
        return Tools(kind, version, kubectl, helm)

    def _kind(self, kind_bin: str | None) -> tuple[str, str]:
        if kind_bin:
            version = self.kind_version(kind_bin)
            if version is None:
                raise SetupError(f"--kind-bin {kind_bin} does not run: `{kind_bin} version` failed")
            if not same_line(version, KIND_VERSION):
                self.progress(
                    f"kind: --kind-bin is kind {version}; the pinned node images are built for "
                    f"kind {KIND_VERSION} and may not start with it"
                )
            return kind_bin, version
        on_path = self.which("kind")
        if on_path:
            version = self.kind_version(on_path)
            if version and same_line(version, KIND_VERSION):
                return on_path, version
            self.progress(
                f"kind: {on_path} is kind {version or '(unknown version)'}, not of the "
                f"{KIND_VERSION} line (the release of the pinned node images): using kind "
                f"{KIND_VERSION} downloaded into {self.cache}"
            )
        return self._downloaded("kind"), KIND_VERSION

    def _kubectl(self, kubectl_bin: str | None, server: str | None) -> str:
        if kubectl_bin:
            version = self.kubectl_version(kubectl_bin)
            apart = minors_apart(version, server) if version and server else None
            if apart is not None and apart > 1:
                self.progress(
                    f"kind: --kind-kubectl-bin is kubectl {version}, {apart} minors from "
                    f"Kubernetes {server} (kubectl supports one): it may fail"
                )
            return kubectl_bin
        on_path = self.which("kubectl")
        if on_path:
            version = self.kubectl_version(on_path)
            apart = minors_apart(version, server) if version and server else None
            if version and (server is None or (apart is not None and apart <= 1)):
                return on_path
            self.progress(
                f"kind: {on_path} is kubectl {version or '(unknown version)'}, not within one "
                f"minor of Kubernetes {server}: using kubectl {KUBECTL_VERSION} downloaded "
                f"into {self.cache}"
            )
        return self._downloaded("kubectl")

    def _downloaded(self, what: str) -> str:
        machine = self.machine or this_platform()
        folder = self.cache / f"{machine.system}-{machine.arch}"
        version = KIND_VERSION if what == "kind" else KUBECTL_VERSION
        target = folder / version / f"{what}{machine.exe}"
        url = machine.kind_url() if what == "kind" else machine.kubectl_url()
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(folder / "download.lock")):
            if not target.exists():
                self.progress(f"kind: downloading {url}")
                try:
                    self.download(what, target, url)
                except Exception as exc:
                    raise SetupError(
                        f"downloading {what} {version} for {machine.system}/{machine.arch} "
                        f"failed ({exc}): install {what} yourself and put it on PATH"
                    ) from None
        return str(target)
