"""One bad fact about the cluster is one set-up error, reported once, not a failure per test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from netpol_conformance.cluster.base import ClusterInfo, PodState, cluster_fact_problems
from netpol_conformance.errors import SetupError
from netpol_conformance.run.deploy import Deployment

ROOT = Path(__file__).resolve().parents[2]
# A plugin that makes the simulated cluster describe its external host with a non-address.
BAD_EXTERNAL = """
import dataclasses
from netpol_conformance.sim import provider

_prepare = provider.SimulatedProvider.prepare


def prepare(self, progress):
    return dataclasses.replace(_prepare(self, progress), external_ip="db.example.invalid")


provider.SimulatedProvider.prepare = prepare
"""


def test_problems_of_a_cluster_description() -> None:
    good = ClusterInfo("simulated", "calico", external_ip="172.18.0.100", images={"probe": "x"})
    assert cluster_fact_problems(good) == []
    bad = ClusterInfo("kind", "calico", external_ip="fe80::1%eth0", images={"probe": " "})
    problems = cluster_fact_problems(bad)
    assert len(problems) == 2
    assert "'fe80::1%eth0' as the external host's address, which is not an IP" in problems[0]
    assert "no image for 'probe'" in problems[1]


def test_a_bad_external_address_is_one_set_up_error_for_the_whole_run(tmp_path: Path) -> None:
    (tmp_path / "bad_external.py").write_text(BAD_EXTERNAL)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "suites", "--cluster", "simulated", "-p",
         "bad_external", "-n", "2", "-p", "no:cacheprovider", "-q", "-rf"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    last = output.strip().splitlines()[-1]
    assert re.search(r"^\d+ skipped, 1 error in ", last), last  # one error, the rest skipped
    assert "'db.example.invalid' as the external host's address" in output
    assert "Traceback" not in output and "ValueError" not in output


def test_a_pod_address_that_is_not_one_stops_the_deployment_once() -> None:
    ready = {
        "frontend-x/web": PodState("frontend-x", "web", "10.244.0.7", True, "Running"),
        "backend-x/db": PodState("backend-x", "db", "fe80::7%eth0", True, "Running"),
    }
    with pytest.raises(SetupError, match=r"pod backend-x/db reports the address 'fe80::7%eth0'"):
        Deployment._check_addresses(ready)
    Deployment._check_addresses({"frontend-x/web": ready["frontend-x/web"]})
