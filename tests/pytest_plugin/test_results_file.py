"""The results file of a real run: one document whatever happened, never an earlier run's."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from netpol_conformance.results.load import load_results

ROOT = Path(__file__).resolve().parents[2]
PASSED_BEFORE = {"format": "netpol-conformance/results", "status": "passed", "note": "old"}
# A context whose API server is a closed port on loopback: nothing answers, nothing leaves.
UNREACHABLE = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: gone, context: {cluster: c, user: u}}]
"""


def suite(tmp_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "suites", "-p", "no:cacheprovider", "-q", *args]


def env(tmp_path: Path) -> dict[str, str]:
    e = {**os.environ, "TMPDIR": str(tmp_path)}
    e.pop("PYTEST_ADDOPTS", None)
    return e


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        suite(tmp_path, *args),
        cwd=ROOT,
        env=env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_run_that_cannot_reach_its_cluster_replaces_an_earlier_file(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps(PASSED_BEFORE))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(UNREACHABLE)
    done = run(
        tmp_path,
        "--cluster",
        "existing",
        "--kube-context",
        "gone",
        "--kubeconfig",
        str(kubeconfig),
        "--netpol-results",
        str(results),
    )
    assert done.returncode == 1, done.stdout[-3000:]
    record = load_results(results)
    assert record.status == "error"
    assert "127.0.0.1:9" in record.error
    assert record.steps == () and record.tests  # every test is listed, even if skipped
    assert not list(tmp_path.glob("netpol-conformance-*"))


def test_one_document_for_the_run_under_xdist(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = run(tmp_path, "--cluster", "simulated", "-n", "2", "--netpol-results", str(results))
    assert done.returncode == 0, done.stdout[-3000:]
    record = load_results(results)
    assert record.status == "passed"
    counts = re.findall(r"(\d+) (?:passed|skipped|xfailed|failed)", done.stdout.splitlines()[-1])
    assert len(record.tests) == sum(map(int, counts))  # every test, from both workers
    scenarios = {s.scenario for s in record.steps}
    assert {"walkthrough", "roundtrip", "0-no-policies", "except-covers-the-target"} <= scenarios
    nodeids = {t.nodeid.split("::")[0] for t in record.tests}
    assert {
        "suites/test_walkthrough.py",
        "suites/test_verify.py",
        "suites/test_enforcement_roundtrip.py",
        "suites/test_host_network.py",
        "suites/test_preflight.py",
    } <= nodeids
    assert {n.name for n in record.cluster.nodes} == {"sim-worker", "sim-worker2"}
    assert record.cni.name == "calico" and record.cni.deny_style == "drop"
    # which direction denies each probe: the node that must enforce it
    step1 = next(s for s in record.steps if s.step == "1-default-deny-ingress")
    step3 = next(s for s in record.steps if s.step == "3-default-deny-egress")
    assert step1.probe(probe_of(step1, "frontend/web->backend/cache:80/TCP")).denied_by == (
        "ingress",
    )
    assert step3.probe(probe_of(step3, "backend/db->external-db:80/TCP")).denied_by == ("egress",)
    assert all(p.denied_by == () for p in step1.probes if p.allowed)
    assert all(p.denied_by for s in record.steps for p in s.probes if not p.allowed)


def probe_of(step, label: str):
    return next(p.probe for p in step.probes if p.label == label)


def test_a_path_that_cannot_take_a_file_is_refused_before_the_run(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    done = run(
        tmp_path,
        "--cluster",
        "simulated",
        "--netpol-results",
        str(blocker / "results.json"),
    )
    output = done.stdout + done.stderr
    assert done.returncode == 4, output[-3000:]  # pytest's usage error: nothing ran
    assert "--netpol-results: " in output and "Not a directory" in output
    assert "Traceback" not in output and "passed" not in output


def test_a_write_error_is_one_line_after_clean_up(tmp_path: Path) -> None:
    """A directory that exists and takes no file (procfs): only the write itself fails."""
    done = run(
        tmp_path,
        "--cluster",
        "simulated",
        "-k",
        "1-default-deny-ingress and test_step",
        "--netpol-results",
        "/proc/1/netpol-results.json",
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert "cannot write the results file /proc/1/netpol-results.json" in output
    assert "Traceback" not in output and "INTERNALERROR" not in output
    assert not list(tmp_path.glob("netpol-conformance-*"))


def test_an_interrupted_run_writes_its_file_with_that_status(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    proc = subprocess.Popen(
        suite(tmp_path, "--cluster", "simulated", "--netpol-results", str(results)),
        cwd=ROOT,
        env=env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until tests are running
        line = proc.stdout.readline()
        if line.startswith(".") or not line:
            break
    proc.send_signal(signal.SIGTERM)  # handled as Ctrl-C
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 2, output[-3000:]
    record = load_results(results)
    assert record.status == "interrupted"
    assert not list(tmp_path.glob("netpol-conformance-*"))


def test_the_selection_and_the_options_that_change_verdicts_are_recorded(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = run(
        tmp_path,
        "--cluster",
        "simulated",
        "-m",
        "step1",
        "-k",
        "db",
        "--confirm-window",
        "0",
        "--strict-deny-style",
        "--netpol-results",
        str(results),
    )
    assert done.returncode == 0, done.stdout[-3000:]
    options = load_results(results).options
    assert options["selection"] == {"markexpr": "step1", "keyword": "db", "args": ["suites"]}
    assert options["confirm_window"] == 0 and options["strict_deny_style"] is True
    assert options["simulate_delay"] == 0.05
    # a check switched off is never silent: in the file and in the summary
    assert options["weakened"] == [
        "flapping detection off (--confirm-window 0: no confirmation after convergence)"
    ]
    assert "WARNING: flapping detection off" in done.stdout
    complete = tmp_path / "complete.json"
    done = run(tmp_path, "--cluster", "simulated", "-m", "step1", "--netpol-results", str(complete))
    assert load_results(complete).options["weakened"] == []
    assert "WARNING" not in done.stdout
