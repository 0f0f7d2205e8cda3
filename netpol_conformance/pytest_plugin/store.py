"""The typed results of every process of a run, gathered in the controller.

Each process keeps the step results its scenarios produced; an xdist worker writes them to
the run's state directory when it finishes, and the controller reads them all back.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from netpol_conformance.results.records import StepResult

# In the controller: scope (scenario) -> why its tests never ran (a worker that died).
LOST = pytest.StashKey[dict[str, str]]()


@dataclass
class ProcessResults:
    name: str  # the process: "main" or the xdist worker id
    steps: list[StepResult] = field(default_factory=list)
    setup_errors: dict[str, str] = field(default_factory=dict)  # scenario id -> error
    phases: dict[str, float] = field(default_factory=dict)  # the deployment's own phases
    nodes: dict[str, list[str]] = field(default_factory=dict)  # node -> logical test pods


def dump(results: ProcessResults, state_dir: Path) -> None:
    path = state_dir / f"results-{results.name}.pickle"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(results))
    tmp.replace(path)


def load_all(state_dir: Path) -> list[ProcessResults]:
    """Every worker's results, in worker order."""
    out = []
    for path in sorted(state_dir.glob("results-*.pickle")):
        out.append(pickle.loads(path.read_bytes()))  # written by our own workers
    return out
