"""A worker that dies under -n 2: the run ends, its lost scenario is named and its tests are
errors, not missing; every other result is kept, and compare does not pass it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from netpol_conformance.cli import main
from netpol_conformance.results.load import load_results

ROOT = Path(__file__).resolve().parents[2]
CRASHED = "2-allow-frontend-to-db"
# A plugin that kills the worker (os._exit, as a segfault or the OOM killer would) when it
# starts the third test of step 2.
CRASH_PLUGIN = f"""
import os

seen = []


def pytest_runtest_call(item):
    if hasattr(item.config, "workerinput") and "test_step[{CRASHED}]" in item.nodeid:
        seen.append(item.nodeid)
        if len(seen) == 3:
            os._exit(1)
"""


def run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    (tmp_path / "crash_worker.py").write_text(CRASH_PLUGIN)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.pop("PYTEST_ADDOPTS", None)
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "suites", "--cluster", "simulated", "-n", "2",
         "-p", "no:cacheprovider", "-q", "-m", "step1 or step2 or step3", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    return proc, time.monotonic() - t0


def test_a_killed_worker_ends_the_run_with_its_scenario_lost(tmp_path: Path) -> None:
    results = tmp_path / "crashed.json"
    proc, took = run(tmp_path, "-p", "crash_worker", "--netpol-results", str(results))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    assert took < 30, f"the run took {took:.0f} s with a worker that died"
    assert "crashed while running" in output
    record = load_results(results)
    assert record.status == "incomplete"
    assert list(record.lost) == [CRASHED]
    assert "crashed while running suites/test_tutorial.py::test_step[" in record.lost[CRASHED]
    lost = [t for t in record.tests if f"[{CRASHED}]" in t.nodeid]
    outcomes = [t.outcome for t in lost]
    assert outcomes.count("failed") == 1  # the test it died in
    assert outcomes.count("passed") == 2  # the two it finished
    assert outcomes.count("error") == len(lost) - 3 > 100  # the rest: never run, not missing
    assert all("not run: worker" in t.message for t in lost if t.outcome == "error")
    # every other scenario's results are kept, from both workers
    kept = {s.scenario for s in record.steps}
    assert {"1-default-deny-ingress", "3-default-deny-egress"} <= kept
    # the same selection without the crash: every test of it is in the crashed run's record
    complete = tmp_path / "complete.json"
    healthy, _ = run(tmp_path, "--netpol-results", str(complete))
    assert healthy.returncode == 0, healthy.stdout[-2000:]
    assert {t.nodeid for t in load_results(complete).tests} == {t.nodeid for t in record.tests}
    # and the gate does not pass the incomplete run
    assert main(["compare", str(complete), str(results)]) == 1
