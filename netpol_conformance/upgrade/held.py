"""Held connections: one long-lived TCP connection per path, opened before the upgrade.

Each runs in the source pod's probe container with the tools every probe image has (``sh``
and ``socat``): ``socat`` opens one TCP connection to the destination's server (nginx) and
runs a small ``sh`` loop on it that sends ``GET /`` over that same connection once per beat
(HTTP/1.1 keep-alive) and reads the answer. Around each request it appends ``sent N T`` and
``ok N T T2`` to a log file (``T`` and ``T2`` from ``/proc/uptime``, the node's boot clock,
read without a fork): so the network's part of every round trip is known, apart from the
loop's own sleeping and scheduling. When the connection ends (end of stream, a reset, a write
error) the loop appends ``closed N T``; a request that stalls leaves its ``sent`` line alone
until its answer comes. Reading the log back after the upgrade tells when every request went
and came back; ``clock.PodClock`` maps those times onto the host's clock.

Three scripts, each one exec per source pod: ``start_script`` (write the loops, start the
socat processes in the background, print the uptime), ``read_script`` (print the uptime,
then every log and whether its process still runs) and ``stop_script`` (end them). The
scripts carry their holds as ``# hold ID ADDRESS PORT BEAT`` comments, so a simulated cluster
can play them.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from netpol_conformance.upgrade.clock import READ_UPTIME
from netpol_conformance.upgrade.timeline import HeldLog

DIRECTORY = "/tmp/netpol-conformance-held"
START_MARK = "# netpol-conformance held connections: start"
READ_MARK = "# netpol-conformance held connections: read"
STOP_MARK = "# netpol-conformance held connections: stop"
_HOLD_LINE = re.compile(r"^# hold (\S+) (\S+) (\d+) ([0-9.]+)$")
SERVER_ANSWER = "netpol-conformance server"  # the body nginx returns (server-config.yaml)


@dataclass(frozen=True)
class Hold:
    id: str  # unique within the source pod: h0, h1, ...
    address: str  # the destination pod's IP
    port: int
    beat: float  # seconds between two requests

    @property
    def comment(self) -> str:
        return f"# hold {self.id} {self.address} {self.port} {self.beat:g}"


def _loop(hold: Hold, directory: str) -> str:
    log = f"{directory}/{hold.id}.log"
    return "\n".join(
        [
            "trap '' PIPE",
            "n=0",
            f"trap 'read -r up rest </proc/uptime; echo \"closed $n $up\" >>{log}; exit 0' TERM",
            "while :; do",
            "  n=$((n+1))",
            "  read -r sent rest </proc/uptime",
            f'  echo "sent $n $sent" >>{log}',
            "  printf 'GET /held/%s HTTP/1.1\\r\\nHost: netpol-conformance\\r\\n\\r\\n' \"$n\""
            " || break",
            "  got=",
            "  while IFS= read -r line; do",
            f'    case "$line" in "{SERVER_ANSWER}"*) got=1; break ;; esac',
            "  done",
            '  [ -n "$got" ] || break',
            "  read -r up rest </proc/uptime",
            f'  echo "ok $n $sent $up" >>{log}',
            f"  sleep {hold.beat:g}",
            "done",
            "read -r up rest </proc/uptime",
            f'echo "closed $n $up" >>{log}',
        ]
    )


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def start_script(holds: Sequence[Hold], directory: str = DIRECTORY) -> str:
    """Start every hold of one source pod in the background; print the uptime first."""
    lines = [START_MARK, *(h.comment for h in holds), READ_UPTIME, f"mkdir -p {directory}"]
    for h in holds:
        base = f"{directory}/{h.id}"
        target = f"TCP:{_host(h.address)}:{h.port},connect-timeout=5"
        lines += [
            f"cat >{base}.sh <<'NETPOL_CONFORMANCE_EOF'",
            _loop(h, directory),
            "NETPOL_CONFORMANCE_EOF",
            f": >{base}.log",
            f"socat {shlex.quote(target)} EXEC:'sh {base}.sh' </dev/null >{base}.err 2>&1 &",
            f"echo $! >{base}.pid",
        ]
    return "\n".join(lines)


def read_script(holds: Sequence[Hold], directory: str = DIRECTORY) -> str:
    """Print the uptime, then for every hold: ``== ID``, its log, and ``alive`` or ``gone``."""
    lines = [READ_MARK, *(h.comment for h in holds), READ_UPTIME]
    for h in holds:
        base = f"{directory}/{h.id}"
        lines += [
            f"echo '== {h.id}'",
            f"cat {base}.log 2>/dev/null",
            # A process that ended stays a zombie (nothing in the container reaps it): read
            # its state, not just whether its pid exists.
            f"pid=$(cat {base}.pid 2>/dev/null)",
            'state=$(cut -d" " -f3 "/proc/$pid/stat" 2>/dev/null)',
            'if [ -n "$pid" ] && [ -n "$state" ] && [ "$state" != Z ]; then echo alive; '
            f"else echo gone; sed 's/^/error /' {base}.err 2>/dev/null | tail -n 3; fi",
        ]
    return "\n".join(lines)


def stop_script(holds: Sequence[Hold], directory: str = DIRECTORY) -> str:
    lines = [STOP_MARK, *(h.comment for h in holds)]
    lines += [f'kill "$(cat {directory}/{h.id}.pid)" 2>/dev/null' for h in holds]
    lines.append("true")
    return "\n".join(lines)


def holds_of(script: str) -> tuple[str, tuple[Hold, ...]] | None:
    """(mark, holds) of a script made here, or None when it is not one."""
    lines = script.split("\n")
    if not lines or lines[0] not in (START_MARK, READ_MARK, STOP_MARK):
        return None
    holds = []
    for line in lines[1:]:
        m = _HOLD_LINE.match(line)
        if m is None:
            break
        holds.append(Hold(m.group(1), m.group(2), int(m.group(3)), float(m.group(4))))
    return lines[0], tuple(holds)


def parse_read(text: str) -> dict[str, HeldLog]:
    """Every hold's log from ``read_script``'s output (after its uptime line), in pod time."""
    logs: dict[str, HeldLog] = {}
    current: str | None = None
    trips: list[tuple[float, float]] = []
    pending: float | None = None
    closed: float | None = None
    alive = False
    errors: list[str] = []

    def flush() -> None:
        if current is not None:
            logs[current] = HeldLog(tuple(trips), closed, alive, " ".join(errors), pending)

    for line in text.splitlines():
        words = line.split()
        if line.startswith("== "):
            flush()
            current, trips, pending, closed = line[3:].strip(), [], None, None
            alive, errors = False, []
        elif current is None or not words:
            continue
        elif words[0] == "sent" and len(words) == 3 and _number(words[2]):
            pending = float(words[2])
        elif words[0] == "ok" and len(words) == 4 and _number(words[2]) and _number(words[3]):
            trips.append((float(words[2]), float(words[3])))
            pending = None
        elif words[0] == "closed" and len(words) == 3 and _number(words[2]):
            closed = float(words[2])
        elif words == ["alive"]:
            alive = True
        elif words[0] == "error":
            errors.append(line[6:].strip())
    flush()
    return logs


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
