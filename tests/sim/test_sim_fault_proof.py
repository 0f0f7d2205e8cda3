"""The fault proof: the suite passes on a healthy simulated CNI and fails, naming the step and
the probe, on every broken one.

Each case runs the real suite (``python -m pytest suites --cluster simulated -n 2``) in a
subprocess from the repository root, as a user would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from netpol_conformance.results.load import load_results

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Exposure:
    """Where a fault must show: the scenario, the probe's label, and its command."""

    scenario: str
    label: str
    command: str  # regex of the kubectl exec line for that probe


def curl_from(namespace: str, pod: str, port: int) -> str:
    return (
        rf"kubectl exec -n {namespace}-[a-z0-9]+ {pod} -c probe -- curl "
        rf"[^\n]*http://[0-9.]+:{port}/"
    )


def udp_from(namespace: str, pod: str, port: int) -> str:
    return rf"kubectl exec -n {namespace}-[a-z0-9]+ {pod} -c probe -- [^\n]*UDP:[0-9.]+:{port}"


def dig_from(namespace: str, pod: str) -> str:
    return rf"kubectl exec -n {namespace}-[a-z0-9]+ {pod} -c probe -- dig [^\n]*"


WEB_TO_DB_80 = Exposure(
    "1-default-deny-ingress", "frontend/web->backend/db:80/TCP", curl_from("frontend", "web", 80)
)
FAULTS: dict[str, tuple[list[str], Exposure]] = {
    "no-enforcement": ([], WEB_TO_DB_80),
    "or-for-and": (
        [],
        Exposure(
            "2-allow-frontend-to-db",
            "frontend/admin->backend/db:5432/TCP",
            curl_from("frontend", "admin", 5432),
        ),
    ),
    "ignore-ports": (
        [],
        Exposure(
            "2-allow-frontend-to-db",
            "frontend/web->backend/db:80/TCP",
            curl_from("frontend", "web", 80),
        ),
    ),
    "ignore-egress": (
        [],
        Exposure(
            "3-default-deny-egress",
            "backend/db->frontend/web:80/TCP",
            curl_from("backend", "db", 80),
        ),
    ),
    "block-dns": (
        [],
        Exposure(
            "0-no-policies",
            "backend/db->dns:kubernetes.default.svc.cluster.local",
            dig_from("backend", "db"),
        ),
    ),
    # allow-dns-egress allows UDP and TCP 53: a CNI that drops DNS over TCP breaks names.
    "dns-tcp-blocked": (
        [],
        Exposure(
            "0-no-policies",
            "backend/db->dns:kubernetes.default.svc.cluster.local/TCP",
            dig_from("backend", "db"),
        ),
    ),
    "reject-instead-of-drop": ([], WEB_TO_DB_80),
    "slow-enforcement:30": ([], WEB_TO_DB_80),
    # Enforcement off 0.6 s of every 3 s: two good polls in a row are not enough.
    "flapping:3,0.6": (["--confirm-window", "3"], WEB_TO_DB_80),
    # Step 3 allows DNS to kube-system only; a CNI that opens 53 everywhere lets db out.
    "dns-port-any-destination": (
        [],
        Exposure(
            "3-default-deny-egress",
            "backend/db->frontend/web:53/UDP",
            udp_from("backend", "db", 53),
        ),
    ),
    # Step 2 allows TCP 5432 only; UDP 5432 must stay closed.
    "ignore-protocol": (
        [],
        Exposure(
            "2-allow-frontend-to-db",
            "frontend/web->backend/db:5432/UDP",
            udp_from("frontend", "web", 5432),
        ),
    ),
    "ignore-except": (
        [],
        Exposure(
            "except-covers-the-target",
            "backend/db->external-db:5432/TCP",
            curl_from("backend", "db", 5432),
        ),
    ),
}


def run_suite(tmp_path: Path, *args: str) -> tuple[int, str, list[dict[str, Any]]]:
    results = tmp_path / "results.json"
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "suites",
        "--cluster",
        "simulated",
        "-n",
        "2",
        "-p",
        "no:cacheprovider",
        "--netpol-results",
        str(results),
        *args,
    ]
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the session's state directory goes here
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env, check=False
    )
    data = []
    if results.exists():
        load_results(results)  # a valid results document, whatever the outcome
        document = json.loads(results.read_text())
        data = [
            {"outcome": t["outcome"], **t["properties"]}
            for t in document["tests"]
            if "probe" in t["properties"]
        ]
    return done.returncode, done.stdout + done.stderr, data


@pytest.mark.parametrize("cni", ["calico", "flannel"])
def test_healthy_cluster_passes(tmp_path: Path, cni: str) -> None:
    """The tutorial's tests (the catalogue's healthy runs are scripts/self-test's)."""
    rc, output, results = run_suite(tmp_path, "--cni", cni, "-m", "tutorial")
    assert rc == 0, output[-4000:]
    assert results, "no probe results were recorded"
    outcomes = {r["outcome"] for r in results}
    assert "passed" in outcomes and "failed" not in outcomes, outcomes
    scenarios = {r["scenario"] for r in results}
    assert {"0-no-policies", "1-default-deny-ingress", "5-production-isolation"} <= scenarios
    assert {"forgot-dns-egress", "or-instead-of-and"} <= scenarios
    if cni == "flannel":
        # Flannel enforces nothing, and the suite says so.
        assert "flannel does NOT enforce NetworkPolicy" in output
    web_db = [
        r
        for r in results
        if r["scenario"] == WEB_TO_DB_80.scenario and r["probe"] == WEB_TO_DB_80.label
    ]
    assert web_db
    expected = "connected" if cni == "flannel" else "timeout"
    assert {r["observed"] for r in web_db} == {expected}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_is_caught(tmp_path: Path, fault: str) -> None:
    """Each of these faults shows in the tutorial already (the catalogue's own faults are in
    test_catalogue_faults.py)."""
    extra, exposure = FAULTS[fault]
    rc, output, results = run_suite(
        tmp_path, "--simulate-faults", fault, "--enforce-timeout", "1", "-m", "tutorial", *extra
    )
    assert rc == 1, f"--simulate-faults {fault} was not caught (exit {rc}):\n{output[-4000:]}"
    # The output names the step, the probe, and the command to run it by hand.
    assert exposure.scenario in output
    assert exposure.label in output
    assert "->" in exposure.label
    assert re.search(exposure.command, output), (
        f"no `{exposure.command}` in the output of --simulate-faults {fault}:\n{output[-3000:]}"
    )
    # The results file agrees: that very probe of that very step failed.
    failed = {(r["scenario"], r["probe"]) for r in results if r["outcome"] == "failed"}
    assert (exposure.scenario, exposure.label) in failed, sorted(failed)[:20]


def test_slow_but_bounded_enforcement_passes(tmp_path: Path) -> None:
    rc, output, results = run_suite(
        tmp_path,
        "--simulate-faults",
        "slow-enforcement:0.5",
        "--enforce-timeout",
        "10",
        "-m",
        "tutorial",
    )
    assert rc == 0, output[-4000:]
    outcomes = {r["outcome"] for r in results}
    assert "passed" in outcomes and "failed" not in outcomes, outcomes
    enforce = {
        r["scenario"]: r["time_to_enforce_s"]
        for r in results
        if r["scenario"] == "1-default-deny-ingress"
    }
    # The probes waited for the policy instead of passing before it took effect. The time is
    # the start of the first poll that saw it; the simulated cluster decides a few milliseconds
    # later, as that poll's execs run, so it may read just under the 0.5 s delay.
    assert enforce["1-default-deny-ingress"] >= 0.45


def test_rules_that_vanish_after_ten_seconds_fail_the_hold(tmp_path: Path) -> None:
    """Every step is confirmed within seconds: only the hold of the final state outlasts ten."""
    rc, output, _ = run_suite(tmp_path, "--simulate-faults", "rules-expire:10", "-m", "step5")
    assert rc == 1, output[-4000:]
    assert "FAILED suites/test_hold.py::test_the_final_state_holds[5-production-isolation]" in (
        output
    )
    assert "did not hold during the 12 s hold of 5-production-isolation" in output
    held = re.search(r"(\S+->\S+): connected at \+(\d+\.\d)s", output)
    assert held, output[-3000:]
    # the rules went ten seconds after they took effect: some seconds into the hold
    assert 4.0 <= float(held.group(2)) <= 12.0
    assert "FAILED suites/test_tutorial.py" not in output  # the step itself held long enough


def test_a_time_budget_fails_slow_enforcement_and_nothing_else(tmp_path: Path) -> None:
    slow = ["--simulate-faults", "slow-enforcement:3", "-m", "step1", "--hold", "0"]
    rc, output, results = run_suite(tmp_path, *slow, "--max-time-to-enforce", "2")
    assert rc == 1, output[-4000:]
    assert "more than --max-time-to-enforce 2 s" in output
    failed = {r["probe"] for r in results if r["outcome"] == "failed"}
    assert "frontend/web->backend/db:80/TCP" in failed
    # the probes the change did not touch met their expectation at once: within the budget
    assert "frontend/web->frontend/admin:80/TCP" not in failed
    rc, output, _ = run_suite(tmp_path, *slow)
    assert rc == 0, output[-4000:]


def test_the_tests_of_whole_steps_fail_on_a_probe_that_flapped_after_convergence(
    tmp_path: Path,
) -> None:
    """The round trip and the walkthrough judge whole steps: a step that converged and then
    flapped is not met, in the results file and in the test alike."""
    rc, output, _ = run_suite(
        tmp_path,
        "--simulate-faults",
        "flapping:3,0.6",
        "--confirm-window",
        "3",
        "-k",
        "roundtrip or walkthrough",
    )
    assert rc == 1, output[-4000:]
    assert "FAILED suites/test_enforcement_roundtrip.py::test_apply_then_delete" in output
    assert "FAILED suites/test_walkthrough.py::test_walkthrough" in output
    assert "flapping: " in output  # the failure summary names the flapping probes
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["status"] == "failed" and document["summary"]["not_met"] > 0
