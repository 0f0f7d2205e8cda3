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
import time
from collections.abc import Callable

UPTIME_MARK = "NPC-UPTIME"
RESOLUTION = 0.01  # /proc/uptime shows hundredths, cut off: the true time is up to this later
# Read the pod's boot clock first thing in a script, without forking (dash, bash, busybox ash).
READ_UPTIME = f'read -r npc_up npc_rest </proc/uptime; echo "{UPTIME_MARK} $npc_up"'


AT_MARK = "NPC-AT"
_LAUNCH = re.compile(r"^npc (\d+) .*&$")  # a probe batch's line that starts probe N
_AT_READ = re.compile(r"^read -r npc_at\d+ npc_rest </proc/uptime$")


def timed_script(batch: str) -> str:
    """A probe batch that also says when it started (first line) and when it launched each
    probe (last line, ``NPC-AT T0 T1 ...``): the boot clock read just before each launch."""
    lines = [READ_UPTIME]
    launched = []
    for line in batch.split("\n"):
        m = _LAUNCH.match(line)
        if m:
            lines.append(f"read -r npc_at{m.group(1)} npc_rest </proc/uptime")
            launched.append(m.group(1))
        lines.append(line)
    lines.append(f'echo "{AT_MARK} ' + " ".join(f"$npc_at{i}" for i in launched) + '"')
    return "\n".join(lines)


def untimed_script(script: str) -> str | None:
    """The batch a ``timed_script`` was made from; None when ``script`` is not one."""
    lines = script.split("\n")
    if len(lines) < 3 or lines[0] != READ_UPTIME or not lines[-1].startswith(f'echo "{AT_MARK}'):
        return None
    return "\n".join(line for line in lines[1:-1] if not _AT_READ.match(line))


def split_timing(stdout: str) -> tuple[float | None, tuple[float, ...], str]:
    """(start, launches, the rest) of a ``timed_script``'s output."""
    start, rest = split_uptime(stdout)
    launches: tuple[float, ...] = ()
    kept = []
    for line in rest.split("\n"):
        words = line.split()
        if words and words[0] == AT_MARK:
            try:
                launches = tuple(float(w) for w in words[1:])
            except ValueError:
                launches = ()
        else:
            kept.append(line)
    return start, launches, "\n".join(kept)


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
