"""A pod's clock: its ``/proc/uptime`` (the node's boot clock) mapped onto the host's epoch.

Every exec the upgrade check makes into a source pod reads the pod's uptime, between two
host times (sent, returned). Each such reading bounds the offset between the two clocks:
``sent - uptime - 0.01 <= offset <= returned - uptime`` (the uptime is cut to hundredths).
The bounds of all readings are intersected, so the offset gets sharper with every exec; the
middle of the intersection is used. When the
pod runs on this very kernel (the local cluster, kind), its uptime is the host's
CLOCK_BOOTTIME: that is recognised (every reading lies within its exec on the host's boot
clock) and the offset is then exact. Times read in a pod are therefore known to about ten
milliseconds (/proc/uptime's resolution), not to the length of an exec.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable

UPTIME_MARK = "NPC-UPTIME"
RESOLUTION = 0.01  # /proc/uptime shows hundredths, cut off: the true time is up to this later
# Read the pod's boot clock first thing in a script, without forking (dash, bash, busybox ash).
READ_UPTIME = f'read -r npc_up npc_rest </proc/uptime; echo "{UPTIME_MARK} $npc_up"'


AT_MARK = "NPC-AT"
_LAUNCH = re.compile(r"^npc (\d+) (.*) &$")  # a probe batch's line that starts probe N
# Run a probe's tool between two readings of the boot clock, written to the file "$0" (the
# probe's own output and exit code stay the tool's).
WRAP = (
    'read -r b r </proc/uptime; "$@"; c=$?; read -r a r </proc/uptime; echo "$b $a" >"$0"; exit $c'
)
_WRAPPED = re.compile(rf"^npc (\d+) sh -c {re.escape(shlex.quote(WRAP))} \S+ (.*) &$")
_AT_FILES = "/tmp/netpol-conformance-at"


def timed_script(batch: str) -> str:
    """A probe batch that also says when it started (first line) and when each probe's tool
    started and ended (last line, ``NPC-AT B0 A0 B1 A1 ...``, from the pod's boot clock)."""
    m = re.search(r"'NPC ([0-9a-f]+) ", batch)
    files = f"{_AT_FILES}-{m.group(1) if m else 'x'}"
    lines = [READ_UPTIME]
    reads = []
    for line in batch.split("\n"):
        launch = _LAUNCH.match(line)
        if launch:
            n = launch.group(1)
            line = f"npc {n} sh -c {shlex.quote(WRAP)} {files}-{n} {launch.group(2)} &"
            reads.append(f"read -r npc_b{n} npc_a{n} <{files}-{n}")
        lines.append(line)
    values = " ".join(f"$npc_b{n} $npc_a{n}" for n in range(len(reads)))
    lines += [*reads, f'echo "{AT_MARK} {values}"', f"rm -f {files}-*"]
    return "\n".join(lines)


def untimed_script(script: str) -> str | None:
    """The batch a ``timed_script`` was made from; None when ``script`` is not one."""
    lines = script.split("\n")
    if len(lines) < 4 or lines[0] != READ_UPTIME or not lines[-2].startswith(f'echo "{AT_MARK}'):
        return None
    out = []
    for line in lines[1:]:
        if line.startswith("wait"):
            out.append(line)
            break
        wrapped = _WRAPPED.match(line)
        out.append(f"npc {wrapped.group(1)} {wrapped.group(2)} &" if wrapped else line)
    return "\n".join(out)


def split_timing(stdout: str) -> tuple[float | None, tuple[tuple[float, float], ...], str]:
    """(start, every probe's (tool started, tool ended), the rest) of a ``timed_script``'s
    output; no pairs when any probe's are missing."""
    start, rest = split_uptime(stdout)
    pairs: tuple[tuple[float, float], ...] = ()
    kept = []
    for line in rest.split("\n"):
        words = line.split()
        if words and words[0] == AT_MARK:
            try:
                values = [float(w) for w in words[1:]]
            except ValueError:
                values = []
            if len(values) % 2 == 0:
                pairs = tuple(zip(values[::2], values[1::2], strict=True))
        else:
            kept.append(line)
    return start, pairs, "\n".join(kept)


def host_boot_offset() -> float | None:
    """Epoch minus this host's boot clock, or None where there is no such clock."""
    try:
        return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):
        return None


def split_uptime(stdout: str) -> tuple[float | None, str]:
    """The uptime a script printed first (``READ_UPTIME``), and the rest of its output."""
    first, _, rest = stdout.partition("\n")
    words = first.split()
    if len(words) == 2 and words[0] == UPTIME_MARK:
        try:
            return float(words[1]), rest
        except ValueError:
            pass
    return None, stdout


class PodClock:
    def __init__(self, host_offset: Callable[[], float | None] = host_boot_offset) -> None:
        self._host_offset = host_offset
        self.low = float("-inf")
        self.high = float("inf")
        self.same_kernel: bool | None = None  # unknown until the first reading
        self._exact: float | None = None

    def observe(self, uptime: float, sent: float, returned: float) -> None:
        low, high = sent - uptime - RESOLUTION, returned - uptime
        host = self._host_offset()
        on_host = host is not None and low <= host <= high
        if self.same_kernel is None:
            self.same_kernel = on_host
        elif not on_host:
            self.same_kernel = False
        if self.same_kernel:
            self._exact = host
        if max(self.low, low) <= min(self.high, high):
            self.low, self.high = max(self.low, low), min(self.high, high)
        else:  # the clocks drifted apart (or a reading was wrong): start again from this one
            self.low, self.high = low, high

    @property
    def known(self) -> bool:
        return self.low != float("-inf")

    def offset(self) -> float:
        if self.same_kernel and self._exact is not None:
            return self._exact
        if not self.known:
            raise ValueError("no reading of the pod's clock yet")
        return (self.low + self.high) / 2

    def epoch(self, uptime: float) -> float:
        return uptime + self.offset()
