"""compare on results files from real runs of the suite (simulated cluster): a healthy run,
the same with a fault, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from netpol_conformance.results.load import load_results

ROOT = Path(__file__).resolve().parents[2]


def suite(tmp_path: Path, name: str, *args: str) -> Path:
    results = tmp_path / f"{name}.json"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("PYTEST_ADDOPTS", None)
    subprocess.run(
        [sys.executable, "-m", "pytest", "suites", "--cluster", "simulated", "-n", "2", "-q",
         "-p", "no:cacheprovider", "--netpol-results", str(results), "-m", "tutorial", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert results.exists()
    return results


def compare(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netpol_conformance.cli", "compare", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("runs")
    healthy = suite(tmp, "healthy", "-k", "test_step or test_mistake")
    faulty = suite(tmp, "faulty", "-k", "test_step or test_mistake", "--simulate-faults",
                   "ignore-ports", "--enforce-timeout", "1")  # fmt: skip
    return healthy, faulty


def test_identical_runs_compare_clean(runs: tuple[Path, Path]) -> None:
    healthy, _ = runs
    done = compare(str(healthy), str(healthy))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_fault_is_exactly_the_regressed_probes_with_leaks_first(runs: tuple[Path, Path]) -> None:
    healthy, faulty = runs
    done = compare("--format", "json", str(healthy), str(faulty))
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    changes = [c for c in report["probes"] if c["change"] in ("leak", "regression")]
    assert changes
    kinds = [c["change"] for c in changes]
    assert kinds == sorted(kinds, key=lambda k: k != "leak")  # every leak before any regression
    # Exactly the probes that failed in the faulty run (each scenario's own step).
    after = load_results(faulty)
    failed = {
        (s.scenario, r.probe.label)
        for s in after.steps
        if s.step == s.scenario
        for r in s.probes
        if not r.met
    }
    assert {(c["scenario"], c["probe"]) for c in changes if c["step"] == c["scenario"]} == failed
    # ignore-ports opens denied ports: what was denied got through, a leak.
    assert {c["change"] for c in changes} == {"leak"}


def test_bad_input_exits_2_naming_the_file(runs: tuple[Path, Path], tmp_path: Path) -> None:
    healthy, _ = runs
    truncated = tmp_path / "truncated.json"
    truncated.write_text(healthy.read_text()[: len(healthy.read_text()) // 2])
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"results": []}))
    for bad in (truncated, foreign, tmp_path / "missing.json"):
        done = compare(str(healthy), str(bad))
        assert done.returncode == 2, done.stdout + done.stderr
        assert str(bad) in done.stderr and len(done.stderr.strip().splitlines()) == 1
