"""The command line of each probe kind, as a person would type it in the probe container.

- tcp: ``curl -sS -v``. ``-v`` is there for one line: curl's own message for exit 7 is
  "Couldn't connect to server" whatever the reason, while its verbose log names the socket
  error ("connect to ... failed: Connection refused", "Immediate connect fail for ...: Network
  is unreachable"), and says "Connected to" when a handshake completed before a timeout.
- udp: one datagram with ``socat`` on a connected UDP socket, waiting ``timeout`` seconds for
  a reply. An ICMP port-unreachable makes the next read fail with ECONNREFUSED, which socat
  logs as "E read(...): Connection refused". ``readbytes=1`` ends socat at the first byte of
  a reply (it prints that byte) instead of ``timeout`` seconds after it: without it, every
  UDP probe, answered or not, took the whole timeout.
- dns: ``nslookup`` (bind's or busybox's) through the pod's resolver.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from netpol_conformance.probe.spec import DNS, TCP, UDP, ProbeTarget

UDP_PAYLOAD = "netpol-conformance"
_FIRST_BYTE = ",readbytes=1"


@dataclass(frozen=True)
class ProbeSettings:
    timeout: float = 2.0  # curl --max-time, as the tutorial's `--max-time 2`; socat's wait
    dns_timeout: int = 2  # nslookup -timeout
    dns_tries: int = 1


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def curl_argv(address: str, port: int, settings: ProbeSettings) -> list[str]:
    t = f"{settings.timeout:g}"
    return [
        "curl",
        "-sS",
        "-v",
        "-o",
        "/dev/null",
        "--connect-timeout",
        t,
        "--max-time",
        t,
        f"http://{_host(address)}:{port}/",
    ]


def udp_argv(address: str, port: int, settings: ProbeSettings) -> list[str]:
    """``echo PAYLOAD | socat -T T -t T - UDP:HOST:PORT,readbytes=1``: prints the first byte
    of the reply, if any, and returns as soon as it comes."""
    t = f"{settings.timeout:g}"
    socat = ["socat", "-T", t, "-t", t, "-", f"UDP:{_host(address)}:{port}{_FIRST_BYTE}"]
    return ["sh", "-c", f"echo {UDP_PAYLOAD} | {shlex.join(socat)}"]


def udp_destination(argv: Sequence[str]) -> tuple[str, int] | None:
    """(address, port) of an argv that ``udp_argv`` made, else None."""
    if len(argv) != 3 or list(argv[:2]) != ["sh", "-c"]:
        return None
    words = shlex.split(argv[2])
    if len(words) < 5 or words[:4] != ["echo", UDP_PAYLOAD, "|", "socat"]:
        return None
    address = words[-1].removesuffix(_FIRST_BYTE)
    host, _, port = address.removeprefix("UDP:").rpartition(":")
    if not address.startswith("UDP:") or not port.isdigit():
        return None
    return host.removeprefix("[").removesuffix("]"), int(port)


def nslookup_argv(name: str, settings: ProbeSettings) -> list[str]:
    return ["nslookup", f"-timeout={settings.dns_timeout}", f"-retry={settings.dns_tries}", name]


def probe_argv(target: ProbeTarget, settings: ProbeSettings) -> list[str]:
    probe = target.probe
    if probe.kind == TCP:
        return curl_argv(target.address, probe.port, settings)
    if probe.kind == UDP:
        return udp_argv(target.address, probe.port, settings)
    if probe.kind == DNS:
        return nslookup_argv(probe.name, settings)
    raise ValueError(f"unknown probe kind {probe.kind!r}")


def exec_command(container: str, namespace: str, pod: str, argv: Sequence[str]) -> str:
    """The equivalent kubectl command, for people reading a failure."""
    return shlex.join(["kubectl", "exec", "-n", namespace, pod, "-c", container, "--", *argv])
