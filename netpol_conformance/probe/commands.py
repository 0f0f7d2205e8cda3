"""The command lines of the probes, as a person would type them in the probe container (which
kind runs which: ``probe.kinds``).

- tcp: ``curl -sS -v``. ``-v`` is there for one line: curl's own message for exit 7 is
  "Couldn't connect to server" whatever the reason, while its verbose log names the socket
  error ("connect to ... failed: Connection refused", "Immediate connect fail for ...: Network
  is unreachable"), and says "Connected to" when a handshake completed before a timeout.
- udp: one datagram with ``socat`` on a connected UDP socket, waiting ``timeout`` seconds for
  a reply. An ICMP port-unreachable makes the next read fail with ECONNREFUSED, which socat
  logs as "E read(...): Connection refused". ``readbytes=1`` ends socat at the first byte of
  a reply (it prints that byte) instead of ``timeout`` seconds after it: without it, every
  UDP probe, answered or not, took the whole timeout. ``sourceport`` binds the port that
  ``probe.ports`` hands out, so that no probe rides an earlier probe's conntrack entry.
- sctp: ``socat -u`` opens an SCTP association (``SCTP-CONNECT``, ``connect-timeout``) and
  copies what the server sends to stdout: the catalogue's SCTP servers greet each association
  with one line and close it. socat logs why a connect failed: "E connecting to ...: Connection
  timed out" (nothing came back: a drop), "E connect(...): Connection refused" (an ABORT: a
  reject, or nothing listening), and "E socket(...): Protocol not supported" when the kernel
  has no SCTP at all (no socket could be opened, no packet went out). ``-T`` ends a silent
  association after ``timeout`` seconds.
- dns: ``dig`` (bind's, the lookup engine of its nslookup) of the name, through the resolver
  of the pod's ``/etc/resolv.conf``. Unlike nslookup, dig can bind its source port (``-b``),
  for the same reason as UDP. ``+noedns +nocmd +noquestion +nostats`` keep its output to the
  header (the status) and the answer, well inside what the batch keeps of a tool's output.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

UDP_PAYLOAD = "netpol-conformance"
_FIRST_BYTE = ",readbytes=1"
_SOURCE_PORT = "sourceport"


@dataclass(frozen=True)
class ProbeSettings:
    timeout: float = 2.0  # curl --max-time, as the tutorial's `--max-time 2`; socat's wait
    dns_timeout: int = 2  # dig +time
    dns_tries: int = 1  # dig +tries


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


def udp_argv(
    address: str, port: int, settings: ProbeSettings, source_port: int | None = None
) -> list[str]:
    """``echo PAYLOAD | socat -T T -t T - UDP:HOST:PORT,sourceport=S,readbytes=1``: prints
    the first byte of the reply, if any, and returns as soon as it comes."""
    t = f"{settings.timeout:g}"
    options = (f",{_SOURCE_PORT}={source_port}" if source_port is not None else "") + _FIRST_BYTE
    socat = ["socat", "-T", t, "-t", t, "-", f"UDP:{_host(address)}:{port}{options}"]
    return ["sh", "-c", f"echo {UDP_PAYLOAD} | {shlex.join(socat)}"]


def udp_destination(argv: Sequence[str]) -> tuple[str, int] | None:
    """(address, port) of an argv that ``udp_argv`` made, else None."""
    if len(argv) != 3 or list(argv[:2]) != ["sh", "-c"]:
        return None
    words = shlex.split(argv[2])
    if len(words) < 5 or words[:4] != ["echo", UDP_PAYLOAD, "|", "socat"]:
        return None
    address, _, options = words[-1].partition(",")
    if not all(o.partition("=")[0] in (_SOURCE_PORT, "readbytes") for o in options.split(",")):
        return None
    host, _, port = address.removeprefix("UDP:").rpartition(":")
    if not address.startswith("UDP:") or not port.isdigit():
        return None
    return host.removeprefix("[").removesuffix("]"), int(port)


def sctp_argv(address: str, port: int, settings: ProbeSettings) -> list[str]:
    """``socat -T T -u SCTP-CONNECT:HOST:PORT,connect-timeout=T STDOUT``: prints the server's
    greeting and ends when the server closes the association."""
    t = f"{settings.timeout:g}"
    target = f"SCTP-CONNECT:{_host(address)}:{port},connect-timeout={t}"
    return ["socat", "-T", t, "-u", target, "STDOUT"]


def sctp_destination(argv: Sequence[str]) -> tuple[str, int] | None:
    """(address, port) of an argv that ``sctp_argv`` made, else None."""
    if len(argv) != 6 or argv[0] != "socat" or argv[3] != "-u" or argv[5] != "STDOUT":
        return None
    address, _, options = argv[4].partition(",")
    if not address.startswith("SCTP-CONNECT:") or not options.startswith("connect-timeout="):
        return None
    host, _, port = address.removeprefix("SCTP-CONNECT:").rpartition(":")
    if not port.isdigit():
        return None
    return host.removeprefix("[").removesuffix("]"), int(port)


def dig_argv(
    name: str,
    settings: ProbeSettings,
    source_port: int | None = None,
    source_ip: str = "",
    tcp: bool = False,
) -> list[str]:
    """``dig -b ADDRESS#PORT +time=T +tries=N ... NAME``; without a port, the kernel's;
    ``+tcp`` over TCP."""
    bind = []
    if source_port is not None:
        bind = ["-b", f"{source_ip or '0.0.0.0'}#{source_port}"]
    return [
        "dig",
        *bind,
        *(["+tcp"] if tcp else []),
        f"+time={settings.dns_timeout}",
        f"+tries={settings.dns_tries}",
        "+noedns",
        "+nocmd",
        "+noquestion",
        "+nostats",
        name,
    ]


def exec_command(container: str, namespace: str, pod: str, argv: Sequence[str]) -> str:
    """The equivalent kubectl command, for people reading a failure."""
    return shlex.join(["kubectl", "exec", "-n", namespace, pod, "-c", container, "--", *argv])
