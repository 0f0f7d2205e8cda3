"""Probe command lines: curl and nslookup argv, IPv6 URLs, the kubectl line shown to people."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from netpol_conformance.probe.classify import classify_curl
from netpol_conformance.probe.commands import (
    ProbeSettings,
    curl_argv,
    exec_command,
    nslookup_argv,
    probe_argv,
)
from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.probe.spec import DNS, TCP, Probe, ProbeTarget

SETTINGS = ProbeSettings()


def test_curl_ipv4() -> None:
    argv = curl_argv("10.244.0.12", 5432, SETTINGS)
    assert argv[0] == "curl"
    assert argv[-1] == "http://10.244.0.12:5432/"
    assert argv[argv.index("--max-time") + 1] == "2"
    assert argv[argv.index("--connect-timeout") + 1] == "2"
    assert argv[argv.index("-o") + 1] == "/dev/null"


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("fd00:10:244::5", "http://[fd00:10:244::5]:80/"),
        ("::1", "http://[::1]:80/"),
        ("2001:db8::ffff:10.0.1.50", "http://[2001:db8::ffff:10.0.1.50]:80/"),
    ],
)
def test_curl_ipv6_addresses_are_bracketed(address: str, url: str) -> None:
    assert curl_argv(address, 80, SETTINGS)[-1] == url


def test_fractional_timeouts_are_kept() -> None:
    argv = curl_argv("10.0.0.1", 80, ProbeSettings(timeout=1.5))
    assert argv[argv.index("--max-time") + 1] == "1.5"


def test_nslookup_argv() -> None:
    argv = nslookup_argv("kubernetes.default.svc.cluster.local", ProbeSettings(dns_timeout=3))
    assert argv == [
        "nslookup",
        "-timeout=3",
        "-retry=1",
        "kubernetes.default.svc.cluster.local",
    ]


def test_probe_argv_by_kind() -> None:
    tcp = ProbeTarget(
        Probe("frontend/web", TCP, "backend/db", 5432), "frontend-x", "web", "fd00::7"
    )
    dns = ProbeTarget(Probe("frontend/web", DNS, "dns", 53, "UDP", "example.org"), "f", "web")
    assert probe_argv(tcp, SETTINGS)[-1] == "http://[fd00::7]:5432/"
    assert probe_argv(dns, SETTINGS)[0] == "nslookup"
    assert probe_argv(dns, SETTINGS)[-1] == "example.org"
    with pytest.raises(ValueError, match="unknown probe kind"):
        probe_argv(ProbeTarget(Probe("a/b", "icmp"), "a", "b"), SETTINGS)


def test_exec_command_round_trips_through_a_shell() -> None:
    argv = curl_argv("fd00::7", 80, SETTINGS)
    line = exec_command("probe", "frontend-abc12", "web", argv)
    assert line.startswith("kubectl exec -n frontend-abc12 web -c probe -- curl ")
    assert shlex.split(line)[-len(argv) :] == argv


def test_probe_labels() -> None:
    assert Probe("frontend/web", TCP, "backend/db", 5432).label == (
        "frontend/web->backend/db:5432/TCP"
    )
    assert Probe("backend/db", DNS, "dns", 53, "UDP", "k.default").label == (
        "backend/db->dns:k.default"
    )


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl on this machine")
def test_real_curl_accepts_the_ipv6_argv(http_port_v6: int) -> None:
    """curl reads the bracketed address as an IPv6 literal, not as a URL glob."""
    argv = curl_argv("::1", http_port_v6, SETTINGS)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    assert classify_curl(result.returncode, result.stderr).outcome is Outcome.CONNECTED, (
        result.returncode,
        result.stderr,
    )
