"""What the machine that runs the kind nodes must give them, checked before a cluster is made.

A three-node kind cluster on a Linux host with the kernel's default inotify limits (128
instances) fails with "too many open files" in its pods, which the suite would only see as a
readiness timeout ten minutes later; a node image whose kubelet refuses cgroup v1 never gets a
node Ready on a cgroup v1 engine. Each problem is one line with the command that fixes it.

The inotify limits are the Docker engine's kernel's: they are read here only when the engine
runs on this Linux machine (not Docker Desktop's VM, not a remote ``DOCKER_HOST``). The cgroup
version is the engine's own answer, wherever it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from netpol_conformance.cluster.kind.versions import NodeImage, at_least

# What kind's documentation asks of a host for clusters of a few nodes.
INOTIFY_MINIMUMS = (("max_user_instances", 512), ("max_user_watches", 524288))
# kubelets from this release on refuse to start on cgroup v1 (kind sets no failCgroupV1).
CGROUP_V2_SINCE = "v1.37.0"


@dataclass(frozen=True)
class Engine:
    """The Docker engine as ``docker info`` describes it ("" where it did not say)."""

    version: str
    operating_system: str = ""
    cgroup_version: str = ""

    @classmethod
    def parse(cls, text: str) -> Engine:
        version, _, rest = text.strip().partition("|")
        system, _, cgroup = rest.partition("|")
        return cls(version, system, cgroup)

    @property
    def on_a_vm(self) -> bool:
        return "docker desktop" in self.operating_system.lower()


INFO_FORMAT = "{{.ServerVersion}}|{{.OperatingSystem}}|{{.CgroupVersion}}"


def read_host_file(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def host_problems(
    image: NodeImage,
    engine: Engine,
    system: str,
    docker_host: str | None,
    read: Callable[[str], str | None] = read_host_file,
) -> list[str]:
    """One line per thing the host lacks for ``image``, each saying how to fix it."""
    problems = []
    local = system == "linux" and not engine.on_a_vm
    if local and (not docker_host or docker_host.startswith("unix://")):
        for key, minimum in INOTIFY_MINIMUMS:
            text = (read(f"/proc/sys/fs/inotify/{key}") or "").strip()
            if text.isdigit() and int(text) < minimum:
                problems.append(
                    f"fs.inotify.{key} is {text}; a three-node kind cluster needs at least "
                    f"{minimum} (its pods fail with 'too many open files'): run `sudo sysctl "
                    f"-w fs.inotify.{key}={minimum}`"
                )
    if engine.cgroup_version == "1" and at_least(image.kubernetes, CGROUP_V2_SINCE):
        problems.append(
            f"the Docker engine runs cgroup v1 and the kubelet of Kubernetes {image.kubernetes} "
            "refuses it: pass --k8s-version 1.36 (or older), or boot the engine's host with "
            "cgroup v2 (`systemd.unified_cgroup_hierarchy=1` on the kernel command line)"
        )
    return problems
