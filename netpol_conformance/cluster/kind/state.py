"""What a kind cluster made by the suite was made for, kept beside its kubeconfig.

The record is written right after ``kind create cluster`` succeeds and before anything is
installed, so that a set-up that fails later still knows the cluster is ours (and deletes it,
or says how to). A kept cluster is reused only for the same CNI and node image.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

CREATING = "creating"  # recorded before `kind create cluster` runs
INSTALLING = "installing"
READY = "ready"


@dataclass(frozen=True)
class ClusterState:
    name: str
    cni: str
    cni_version: str
    kubernetes: str
    node_image: str
    kind_version: str
    status: str = INSTALLING

    def mismatch(self, cni: str, node_image: str) -> str | None:
        """Why this cluster cannot serve a run for ``cni`` on ``node_image``; None if it can."""
        if self.cni != cni:
            return f"it runs --cni {self.cni}, not {cni}"
        if self.node_image != node_image:
            return f"it runs Kubernetes {self.kubernetes} ({self.node_image}), not {node_image}"
        return None


class StateFile:
    def __init__(self, directory: Path, name: str) -> None:
        self.path = directory / f"{name}.cluster.json"

    def load(self) -> ClusterState | None:
        try:
            data = json.loads(self.path.read_text())
            return ClusterState(**data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError):
            return None  # unreadable: treated as unknown, which is never reused silently

    def save(self, state: ClusterState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state), indent=2))
        tmp.replace(self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
