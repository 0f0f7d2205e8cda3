"""--junitxml: the run's metadata as testsuite properties, each probe's facts as testcase
properties; the same with xdist workers, where only the controller writes the file."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.pytest_plugin.run_record import suite_version

ROOT = Path(__file__).resolve().parents[2]
PROBE_PROPERTIES = (
    "scenario",
    "step",
    "probe",
    "from",
    "to",
    "port",
    "protocol",
    "expected",
    "observed",
    "time_to_enforce_s",
)


def run_suite(tmp_path: Path, *args: str) -> tuple[ET.Element, str]:
    junit = tmp_path / "junit.xml"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("PYTEST_ADDOPTS", None)
    argv = [sys.executable, "-m", "pytest", "suites", "--cluster", "simulated", "-q",
            "-p", "no:cacheprovider", "-m", "step1", "--junitxml", str(junit), *args]  # fmt: skip
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    suites = ET.parse(junit).getroot().findall("testsuite")
    assert len(suites) == 1
    return suites[0], output


def properties(node: ET.Element) -> dict[str, str]:
    found = node.find("properties")
    return {} if found is None else {p.get("name", ""): p.get("value", "") for p in found}


@pytest.mark.parametrize(
    ("cni", "workers", "enforces", "deny_style"),
    [("calico", "0", "true", "drop"), ("kube-router", "2", "true", "reject")],
)
def test_junit_holds_the_run_metadata_and_every_probe(
    tmp_path: Path, cni: str, workers: str, enforces: str, deny_style: str
) -> None:
    suite, output = run_suite(tmp_path, "--cni", cni, "-n", workers)

    assert properties(suite) == {
        "suite_version": suite_version(),
        "cluster.kind": "simulated",
        "cluster.kubernetes_version": "simulated",
        "cni.name": cni,
        "cni.version": "simulated",
        "cni.enforces": enforces,
        "cni.deny_style": deny_style,
    }

    probes = [
        case
        for case in suite.findall("testcase")
        if case.get("classname", "").endswith("test_tutorial")
    ]
    assert len(probes) > 200  # step 1's matrix: every pod to every pod, port and protocol
    outcomes = {o.value for o in Outcome}
    for case in probes:
        props = properties(case)
        assert tuple(props) == PROBE_PROPERTIES, case.get("name")
        assert props["scenario"] == props["step"] == "1-default-deny-ingress"
        label = props["probe"]
        assert label.startswith(f"{props['from']}->{props['to']}:"), label
        if props["to"] != "dns":  # a DNS probe names the name it looks up
            assert label.endswith(f":{props['port']}/{props['protocol']}"), label
        assert f"[{label}={props['expected']}]" in case.get("name", "")
        assert props["expected"] in outcomes
        assert props["observed"].partition("(")[0] == props["expected"]  # e.g. dns-ok(10.96.0.1)
        assert float(props["time_to_enforce_s"]) >= 0
    denied = [c for c in probes if properties(c)["to"].startswith("backend/")]
    expected_deny = "refused" if deny_style == "reject" else "timeout"
    assert denied and {properties(c)["expected"] for c in denied} == {expected_deny}
    # pytest's warning that xunit2 has no testcase properties would come once per probe
    assert "record_property is incompatible" not in output
