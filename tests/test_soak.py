"""scripts/soak: N runs in a row, alternating -n auto and -n 0, a line each and a total
(on the simulated cluster here; the local cluster's soak is the same loop)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOAK = ROOT / "scripts" / "soak"


def soak(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SOAK), "--out", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Two healthy simulated runs: the soak's output directory and what it printed."""
    out = tmp_path_factory.mktemp("soak")
    proc = soak(out, "2", "--cluster", "simulated", "--cni", "calico", "--", "-m", "step1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc.stdout


def test_healthy_runs_alternate_workers_and_pass(healthy: tuple[Path, str]) -> None:
    tmp_path, stdout = healthy
    lines = stdout.splitlines()
    first = re.search(r"^run 1/2  -n auto .* passed +(\d+)  failed    0 .* exit 0$", lines[1])
    second = re.search(r"^run 2/2  -n 0 .* passed +(\d+)  failed    0 .* exit 0$", lines[2])
    assert first and second and first.group(1) == second.group(1)
    passed = int(first.group(1))
    assert passed > 200  # step 1's probes and its round trip
    assert lines[3].startswith(f"soak: 2 of 2 runs, 0 failed; {2 * passed} tests passed, 0 failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "run-01.json",
        "run-01.log",
        "run-02.json",
        "run-02.log",
    ]


def test_the_bench_reads_its_figures_from_the_soak_runs(healthy: tuple[Path, str]) -> None:
    """scripts/bench_probes.py --results: no cluster, each run's wall time (start to finish of
    its results file) and phases, the floor of the one-process run, and the spread."""
    out, _ = healthy
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_probes.py"), "--results",
         str(out / "run-01.json"), str(out / "run-02.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert re.match(
        r"run-01\.json: -n [1-9]\d*: \d+ s; seconds by phase over \d+ processes: ", lines[0]
    )
    assert re.match(
        r"run-02\.json: -n 0: \d+ s; seconds by phase over 1 process: deploy ", lines[1]
    )
    floor = re.match(r"floor: one deployment [\d.]+ s \+ (\d+) matrices over (\d+) steps", lines[2])
    assert floor and int(floor.group(1)) > int(floor.group(2)) > 0
    spread = r"-n (\d+): 1 run, wall \d+-\d+ s \(mean \d+\); [\d.]+-[\d.]+x the mean floor"
    assert [m.group(1) for line in lines[3:] if (m := re.match(spread, line))] == [
        "0",
        lines[0].split()[2].rstrip(":"),
    ]


def test_a_failing_run_fails_the_soak_and_is_counted(tmp_path: Path) -> None:
    proc = soak(
        tmp_path,
        "1",
        "--cluster",
        "simulated",
        "--",
        "-m",
        "step1",
        "--simulate-faults",
        "no-enforcement",
        "--enforce-timeout",
        "1",
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    failed = int(re.search(r"failed +(\d+)", proc.stdout.splitlines()[1]).group(1))
    assert failed > 0
    assert "1 of 1 runs, 1 failed; " in proc.stdout and f"{failed} failed" in proc.stdout


def test_zero_runs_is_a_usage_error(tmp_path: Path) -> None:
    proc = soak(tmp_path, "0", "--cluster", "simulated")
    assert proc.returncode == 2 and "runs must be at least 1" in proc.stderr
