"""Option validation: every bad combination is one clear UsageError, in-process and for real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from netpol_conformance.cluster.base import ClusterInfo
from netpol_conformance.cluster.kind.provider import KindProvider
from netpol_conformance.cluster.providers import ExistingProvider
from netpol_conformance.errors import UsageError
from netpol_conformance.plan.layout import load_layout
from netpol_conformance.settings import SuiteSettings, build_settings, make_provider
from netpol_conformance.sim.faults import Faults
from netpol_conformance.sim.provider import SimulatedProvider

PINS = load_layout().images

ROOT = Path(__file__).resolve().parents[1]

DEFAULTS: dict[str, Any] = {
    "netpol_cluster": "kind",
    "netpol_cni": "calico",
    "netpol_kube_context": None,
    "netpol_probe_timeout": 2.0,
    "netpol_dns_timeout": 2,
    "netpol_enforce_timeout": 60.0,
    "netpol_external_ip": None,
    "netpol_server_image": None,
    "netpol_probe_image": None,
    "netpol_pull_policy": None,
    "netpol_manifests": None,
    "netpol_faults": "",
    "netpol_simulate_delay": 0.05,
    "netpol_results": None,
    "netpol_local_script": None,
    "netpol_confirm_window": None,
    "netpol_hold": None,
    "netpol_max_time_to_enforce": None,
    "netpol_strict_deny_style": False,
    "netpol_cni_host_agent": False,
    "keep_cluster": False,
    "cluster_name": "pytest-kind",
    "kubeconfig": None,
}


def settings(**options: Any) -> SuiteSettings:
    values = {**DEFAULTS, **options}
    return build_settings(lambda name: values[name])


def test_defaults() -> None:
    s = settings()
    assert s.cluster == "kind"
    assert s.profile.name == "calico"
    assert s.cluster_name == "netpol-conformance"  # not pytest-kind-ng's default name
    assert s.image_overrides == {}
    assert s.faults == Faults()
    assert s.run.probe.timeout == 2.0
    assert s.run.enforce_timeout == 60.0


def test_simulated_polls_fast_and_takes_faults() -> None:
    s = settings(netpol_cluster="simulated", netpol_faults="or-for-and,slow-enforcement:2.5")
    assert s.faults == Faults(or_for_and=True, slow_enforcement=2.5)
    assert s.run.poll_interval < 1.0
    assert isinstance(make_provider(s, Path("/nonexistent")), SimulatedProvider)


def test_image_overrides() -> None:
    s = settings(netpol_server_image="r.local/nginx:1")
    assert s.image_overrides == {"server": "r.local/nginx:1"}
    info = ClusterInfo("local", "calico", images={"server": "local/server", "probe": "local/p"})
    assert s.run_options(info).images == {"server": "r.local/nginx:1", "probe": "local/p"}
    assert s.run_options(ClusterInfo("kind", "calico")).images == {"server": "r.local/nginx:1"}
    assert set(PINS) == {"server", "probe"}  # the pod template's pins fill in the rest


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"netpol_cluster": "minikube"}, r"unknown --cluster 'minikube': choose one of kind, "),
        ({"netpol_cni": "canal"}, r"unknown CNI 'canal': choose one of .*calico.*weave"),
        ({"netpol_faults": "or-for-and"}, r"--simulate-faults only applies to --cluster simulated"),
        (
            {"netpol_cluster": "simulated", "netpol_faults": "drop-everything"},
            r"unknown fault 'drop-everything'",
        ),
        (
            {"netpol_cluster": "simulated", "netpol_faults": "slow-enforcement"},
            r"slow-enforcement needs seconds",
        ),
        (
            {"netpol_cluster": "simulated", "netpol_faults": "block-dns:3"},
            r"fault 'block-dns' takes no argument",
        ),
        ({"netpol_probe_timeout": 0}, r"--probe-timeout must be a finite number of seconds > 0"),
        ({"netpol_probe_timeout": "nan"}, r"--probe-timeout must be a finite number"),
        ({"netpol_probe_timeout": "inf"}, r"--probe-timeout must be a finite number"),
        ({"netpol_probe_timeout": "two"}, r"--probe-timeout must be a finite number"),
        ({"netpol_enforce_timeout": "nan"}, r"--enforce-timeout must be a finite number"),
        ({"netpol_enforce_timeout": -1}, r"--enforce-timeout must be .* >= 0"),
        ({"netpol_dns_timeout": 0}, r"--dns-timeout must be .* > 0"),
        ({"netpol_dns_timeout": -3}, r"--dns-timeout must be .* > 0"),
        ({"netpol_external_ip": "not-an-ip"}, r"--external-ip must be an IP address"),
        ({"netpol_external_ip": "fe80::1%eth0"}, r"--external-ip must be an IP address"),
        ({"netpol_dns_timeout": "1e308"}, r"--dns-timeout must be at most 300 seconds"),
        ({"netpol_probe_timeout": 301}, r"--probe-timeout must be at most 300 seconds"),
        ({"netpol_cluster": "existing"}, r"--cluster existing needs --kube-context NAME"),
        ({"netpol_cni": "kube-router"}, r"--cluster kind supports --cni"),
        ({"netpol_manifests": "/nonexistent"}, r"--manifests /nonexistent does not hold"),
    ],
)
def test_bad_options_are_one_usage_error(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message) as exc_info:
        settings(**options)
    assert "\n" not in str(exc_info.value)


KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: ci, context: {cluster: c, user: u}}]
"""


def test_existing_with_a_context(tmp_path: Path) -> None:
    kc = tmp_path / "kc"
    kc.write_text(KUBECONFIG)
    s = settings(
        netpol_cluster="existing",
        netpol_kube_context="ci",
        kubeconfig=str(kc),
        netpol_external_ip="192.0.2.7",
    )
    p = make_provider(s, Path("/nonexistent"))
    assert isinstance(p, ExistingProvider)
    assert (p.context, p.kubeconfig, p.external_ip) == ("ci", str(kc), "192.0.2.7")
    assert s.has_external
    without = settings(netpol_cluster="existing", netpol_kube_context="ci", kubeconfig=str(kc))
    assert not without.has_external


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (KUBECONFIG.encode(), "has no context 'prod'"),
        (b"\xff\xfe not utf-8", "UTF-8"),
        (b"just a string", "mapping"),
    ],
)
def test_the_kubeconfig_and_its_context_are_checked_before_any_cluster_work(
    tmp_path: Path, content: bytes, message: str
) -> None:
    kc = tmp_path / "kc"
    kc.write_bytes(content)
    with pytest.raises(UsageError, match=message) as exc_info:
        settings(netpol_cluster="existing", netpol_kube_context="prod", kubeconfig=str(kc))
    assert str(kc) in str(exc_info.value) and "\n" not in str(exc_info.value)


def test_kind_is_the_default_provider() -> None:
    assert isinstance(make_provider(settings(), Path("/nonexistent")), KindProvider)


def test_kubeconfig_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(["/a/config", "/b/config"]))
    assert settings().kubeconfig == "/a/config"
    assert settings(kubeconfig="/explicit").kubeconfig == "/explicit"


# --- for real: pytest on the suites with bad options -------------------------------------------


def run_suites(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "suites", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cluster", "existing"], "--cluster existing needs --kube-context NAME"),
        (["--cluster", "existing", "-n", "2"], "--cluster existing needs --kube-context NAME"),
        (["--cni", "nosuch"], "unknown CNI 'nosuch'"),
        (["--cluster", "simulated", "--cni", "nosuch"], "unknown CNI 'nosuch'"),
        (["--cluster", "kind", "--simulate-faults", "block-dns"], "only applies to --cluster"),
        (["--cluster", "simulated", "--probe-timeout", "nan"], "--probe-timeout must be"),
        (["--cluster", "simulated", "--probe-timeout", "inf", "-n", "2"], "--probe-timeout must"),
        (["--cluster", "simulated", "--enforce-timeout", "nan"], "--enforce-timeout must be"),
        (["--cluster", "simulated", "--dns-timeout", "0"], "--dns-timeout must be"),
        (["--cluster", "simulated", "--external-ip", "not-an-ip"], "--external-ip must be"),
    ],
)
def test_bad_options_stop_the_run_with_one_message(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = run_suites(tmp_path, *args)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert done.returncode == 4, output  # pytest's usage error, not a crash (3) or failure (1)
    assert output.count(message) == 1, output
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    error_lines = [ln for ln in output.splitlines() if ln.startswith("ERROR")]
    assert len(error_lines) == 1, output
    assert message in error_lines[0]
    assert " passed" not in output and " failed" not in output  # nothing ran
    assert not list(tmp_path.glob("netpol-conformance-*")), "a state directory was left behind"


def test_a_context_the_kubeconfig_lacks_stops_the_run(tmp_path: Path) -> None:
    kc = tmp_path / "kc"
    kc.write_text(KUBECONFIG)
    done = run_suites(
        tmp_path, "--cluster", "existing", "--kubeconfig", str(kc), "--kube-context", "nosuch"
    )
    output = done.stdout + done.stderr
    assert done.returncode == 4, output
    assert "nosuch" in output and "ci" in output and "Traceback" not in output
    assert not list(tmp_path.glob("netpol-conformance-*"))
