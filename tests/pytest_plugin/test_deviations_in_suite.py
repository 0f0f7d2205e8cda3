"""Expected deviations in a real run of the suite: a listed deviation is an expected failure,
a listed one that passes fails, an unlisted one fails, a malformed file stops the run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from netpol_conformance.plan.layout import DEFAULT_MANIFESTS

ROOT = Path(__file__).resolve().parents[2]
WEB_DB_80 = "frontend/web->backend/db:80/TCP"
ADMIN_DB_80 = "frontend/admin->backend/db:80/TCP"


def manifests_with(tmp_path: Path, deviations: str) -> Path:
    root = tmp_path / "manifests"
    shutil.copytree(DEFAULT_MANIFESTS, root)
    (root / "expected-deviations").mkdir(exist_ok=True)
    (root / "expected-deviations" / "calico.yaml").write_text(deviations)
    return root


def run(tmp_path: Path, manifests: Path, *args: str) -> tuple[int, str, dict]:
    results = tmp_path / "results.json"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("PYTEST_ADDOPTS", None)
    argv = [sys.executable, "-m", "pytest", "suites", "--cluster", "simulated", "-p",
            "no:cacheprovider", "-q", "-rxX", "--manifests", str(manifests),
            "--netpol-results", str(results), "-k", "1-default-deny-ingress and test_step",
            *args]  # fmt: skip
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    document = json.loads(results.read_text()) if results.exists() else {}
    return done.returncode, done.stdout + done.stderr, document


def entry(probe: str, observed: str) -> str:
    return (
        f"  - scenario: 1-default-deny-ingress\n    probe: {probe!r}\n    observed: {observed}\n"
        "    reason: rejects instead of dropping\n    link: https://example.org/issue/1\n"
    )


def outcomes(document: dict) -> dict[str, str]:
    return {
        t["properties"]["probe"]: t["outcome"]
        for t in document["tests"]
        if t["properties"].get("probe")
    }


def test_listed_deviation_is_an_expected_failure_and_unlisted_ones_fail(tmp_path: Path) -> None:
    manifests = manifests_with(tmp_path, "cni: calico\ndeviations:\n" + entry(WEB_DB_80, "refused"))
    rc, output, document = run(tmp_path, manifests, "--simulate-faults", "reject-instead-of-drop")
    assert rc == 1, output[-3000:]
    seen = outcomes(document)
    assert seen[WEB_DB_80] == "xfailed"
    assert seen[ADMIN_DB_80] == "failed"  # the same deviation, but not listed
    assert "expected deviation of calico" in output
    probes = [p for s in document["steps"] for p in s["probes"] if p["label"] == WEB_DB_80]
    assert any("rejects instead of dropping" in p["deviation"] for p in probes)
    assert document["summary"]["deviations"] >= 1


def test_a_listed_deviation_that_passes_fails(tmp_path: Path) -> None:
    manifests = manifests_with(tmp_path, "cni: calico\ndeviations:\n" + entry(WEB_DB_80, "refused"))
    rc, output, document = run(tmp_path, manifests)
    assert rc == 1, output[-3000:]
    assert outcomes(document)[WEB_DB_80] == "failed"
    assert "now meets its expectation: remove the entry" in output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cni: calico\ndeviations:\n" + entry(WEB_DB_80, "sideways"), "sideways"),
        ("cni: calico\ndeviations: [1]\n", "deviations[0]"),
    ],
)
def test_a_malformed_file_stops_the_run_with_one_message(
    tmp_path: Path, text: str, message: str
) -> None:
    manifests = manifests_with(tmp_path, text)
    rc, output, _ = run(tmp_path, manifests)
    assert rc == 4, output[-3000:]
    assert message in output and "calico.yaml" in output
    assert "Traceback" not in output


def test_a_state_held_by_listed_deviations_is_judged_without_waiting_for_the_deadline(
    tmp_path: Path,
) -> None:
    """Every wrong probe of the state is listed: polling stops once the matrix has settled on
    them, long before the enforce timeout, and each listed probe is an expected failure."""
    listed = entry("*->backend/*:*", "refused")  # every probe the step denies
    manifests = manifests_with(tmp_path, "cni: calico\ndeviations:\n" + listed)
    rc, output, document = run(
        tmp_path, manifests, "--simulate-faults", "reject-instead-of-drop",
        "--enforce-timeout", "120", "-s",
    )  # fmt: skip
    assert rc == 0, output[-3000:]
    seen = outcomes(document)
    assert seen[WEB_DB_80] == seen[ADMIN_DB_80] == "xfailed"
    assert "settled on the CNI's expected deviations" in output
    step = next(s for s in document["steps"] if s["scenario"] == "1-default-deny-ingress")
    assert not step["converged"]
    assert step["phases"]["converge"] < 30  # the deadline was 120 s
