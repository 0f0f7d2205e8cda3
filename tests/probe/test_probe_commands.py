"""Probe command lines: curl, socat and dig argv, IPv6, the kubectl line shown to people."""

from __future__ import annotations

import shlex
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest

from netpol_conformance.probe.classify import classify_curl, classify_udp
from netpol_conformance.probe.commands import (
    ProbeSettings,
    curl_argv,
    dig_argv,
    exec_command,
    udp_argv,
    udp_destination,
)
from netpol_conformance.probe.kinds import probe_argv
from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.probe.spec import DNS, TCP, UDP, Probe, ProbeTarget

SETTINGS = ProbeSettings()


def test_curl_ipv4() -> None:
    argv = curl_argv("10.244.0.12", 5432, SETTINGS)
    assert argv[0] == "curl"
    assert argv[-1] == "http://10.244.0.12:5432/"
    assert argv[argv.index("--max-time") + 1] == "2"
    assert argv[argv.index("--connect-timeout") + 1] == "2"
    assert argv[argv.index("-o") + 1] == "/dev/null"
    assert "-v" in argv  # the socket error behind exit 7 is only in the verbose log


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


def test_udp_argv_is_a_readable_pipe_into_socat() -> None:
    argv = udp_argv("10.244.0.12", 5432, ProbeSettings(timeout=1.5), 21234)
    assert argv == [
        "sh",
        "-c",
        "echo netpol-conformance | socat -T 1.5 -t 1.5 - "
        "UDP:10.244.0.12:5432,sourceport=21234,readbytes=1",
    ]
    assert udp_destination(argv) == ("10.244.0.12", 5432)


def test_udp_argv_without_a_source_port_leaves_it_to_the_kernel() -> None:
    """Control probes inside the destination pod (loopback: no policy, no flow to reuse)."""
    argv = udp_argv("127.0.0.1", 53, SETTINGS)
    assert argv[2].endswith(" - UDP:127.0.0.1:53,readbytes=1")
    assert udp_destination(argv) == ("127.0.0.1", 53)


def test_udp_argv_ipv6() -> None:
    argv = udp_argv("fd00:10:244::5", 53, SETTINGS, 20000)
    assert argv[2].endswith(" - 'UDP:[fd00:10:244::5]:53,sourceport=20000,readbytes=1'")
    assert udp_destination(argv) == ("fd00:10:244::5", 53)


@pytest.mark.parametrize(
    "argv",
    [
        ["curl", "http://10.0.0.1/"],
        ["sh", "-c", "echo hi | socat - TCP:10.0.0.1:80"],
        ["sh", "-c", "echo netpol-conformance | socat - TCP:10.0.0.1:80"],
        ["sh", "-c", "echo netpol-conformance | socat - UDP:10.0.0.1:http"],
        ["sh", "-c", "echo netpol-conformance | socat - UDP:10.0.0.1:53,fork"],
        ["sh", "-c", "echo netpol-conformance"],
    ],
)
def test_udp_destination_of_other_commands(argv: list[str]) -> None:
    assert udp_destination(argv) is None


def test_dig_argv_binds_the_source_port_on_the_pod_address() -> None:
    argv = dig_argv(
        "kubernetes.default.svc.cluster.local", ProbeSettings(dns_timeout=3), 20001, "10.244.0.7"
    )
    assert argv == [
        "dig",
        "-b",
        "10.244.0.7#20001",
        "+time=3",
        "+tries=1",
        "+noedns",
        "+nocmd",
        "+noquestion",
        "+nostats",
        "kubernetes.default.svc.cluster.local",
    ]
    assert dig_argv("k.default", SETTINGS, 20002)[1:3] == ["-b", "0.0.0.0#20002"]
    assert dig_argv("k.default", SETTINGS, 20003, "fd00::7")[2] == "fd00::7#20003"
    assert "-b" not in dig_argv("k.default", SETTINGS)


def test_probe_argv_by_kind() -> None:
    tcp = ProbeTarget(
        Probe("frontend/web", TCP, "backend/db", 5432), "frontend-x", "web", "fd00::7"
    )
    dns = ProbeTarget(Probe("frontend/web", DNS, "dns", 53, "UDP", "example.org"), "f", "web")
    udp = ProbeTarget(Probe("frontend/web", UDP, "backend/db", 5432, "UDP"), "f", "web", "10.0.0.7")
    assert probe_argv(tcp, SETTINGS)[-1] == "http://[fd00::7]:5432/"
    assert udp_destination(probe_argv(udp, SETTINGS, 20005)) == ("10.0.0.7", 5432)
    assert "sourceport=20005" in probe_argv(udp, SETTINGS, 20005)[2]
    assert probe_argv(dns, SETTINGS, 20006)[:3] == ["dig", "-b", "0.0.0.0#20006"]
    assert probe_argv(dns, SETTINGS)[-1] == "example.org"
    with pytest.raises(ValueError, match="unknown probe kind"):
        probe_argv(ProbeTarget(Probe("a/b", "icmp"), "a", "b"), SETTINGS)


def test_exec_command_round_trips_through_a_shell() -> None:
    argv = curl_argv("fd00::7", 80, SETTINGS)
    line = exec_command("probe", "frontend-abc12", "web", argv)
    assert line.startswith("kubectl exec -n frontend-abc12 web -c probe -- curl ")
    assert shlex.split(line)[-len(argv) :] == argv


def test_probe_protocol_follows_its_kind() -> None:
    assert Probe("a/b", UDP, "c/d", 53, "UDP").label == "a/b->c/d:53/UDP"
    with pytest.raises(ValueError, match="udp probe has protocol UDP"):
        Probe("a/b", UDP, "c/d", 53)
    with pytest.raises(ValueError, match="tcp probe has protocol TCP"):
        Probe("a/b", TCP, "c/d", 53, "UDP")


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


@pytest.fixture
def udp_echo_port() -> Iterator[int]:
    """A UDP server on loopback that answers each datagram once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                _, peer = sock.recvfrom(512)
            except TimeoutError:
                continue
            sock.sendto(b"netpol-conformance udp\n", peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    sock.close()


@pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat on this machine")
def test_real_socat_gets_the_reply(udp_echo_port: int) -> None:
    argv = udp_argv("127.0.0.1", udp_echo_port, ProbeSettings(timeout=1))
    result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    obs = classify_udp(result.returncode, result.stdout + result.stderr)
    # Only the reply's first byte is read: socat returns as soon as it comes.
    assert (obs.outcome, obs.detail) == (Outcome.CONNECTED, "n")


@pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat on this machine")
def test_real_socat_sees_a_closed_udp_port_as_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = udp_argv("127.0.0.1", port, ProbeSettings(timeout=1))
    result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    assert classify_udp(result.returncode, result.stderr).outcome is Outcome.REFUSED
