"""Build the one shell command that runs every probe of a source pod in parallel.

Each probe runs in the background; each prints exactly one line
``NPC <index> <exit code> <output with newlines folded to '|'>``. One exec therefore costs
about one probe timeout, whatever the number of probes.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from netpol_conformance.probe.spec import DNS, TCP, ProbeTarget

MARKER = "NPC"

_PRELUDE = (
    f'npc() {{ i=$1; shift; o=$("$@" 2>&1); rc=$?; '
    f"printf '{MARKER} %s %s %.600s\\n' \"$i\" \"$rc\" \"$(printf '%s' \"$o\" | tr '\\n' '|')\"; }}"
)


@dataclass(frozen=True)
class ProbeSettings:
    timeout: float = 2.0  # curl --max-time, as the tutorial's `--max-time 2`
    dns_timeout: int = 2  # nslookup -timeout
    dns_tries: int = 1


def curl_argv(address: str, port: int, settings: ProbeSettings) -> list[str]:
    host = f"[{address}]" if ":" in address else address
    t = f"{settings.timeout:g}"
    return [
        "curl",
        "-sS",
        "-o",
        "/dev/null",
        "--connect-timeout",
        t,
        "--max-time",
        t,
        f"http://{host}:{port}/",
    ]


def nslookup_argv(name: str, settings: ProbeSettings) -> list[str]:
    return ["nslookup", f"-timeout={settings.dns_timeout}", f"-retry={settings.dns_tries}", name]


def probe_argv(target: ProbeTarget, settings: ProbeSettings) -> list[str]:
    probe = target.probe
    if probe.kind == TCP:
        return curl_argv(target.address, probe.port, settings)
    if probe.kind == DNS:
        return nslookup_argv(probe.name, settings)
    raise ValueError(f"unknown probe kind {probe.kind!r}")


def batch_script(argvs: Sequence[Sequence[str]]) -> str:
    """A POSIX sh script running every argv in parallel, one result line each."""
    lines = [_PRELUDE]
    lines += [f"npc {i} {shlex.join(argv)} &" for i, argv in enumerate(argvs)]
    lines.append("wait")
    return "\n".join(lines)


def exec_command(container: str, namespace: str, pod: str, argv: Sequence[str]) -> str:
    """The equivalent kubectl command, for people reading a failure."""
    return shlex.join(["kubectl", "exec", "-n", namespace, pod, "-c", container, "--", *argv])
