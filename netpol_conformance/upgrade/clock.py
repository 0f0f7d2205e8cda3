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

import time
from collections.abc import Callable

UPTIME_MARK = "NPC-UPTIME"
RESOLUTION = 0.01  # /proc/uptime shows hundredths, cut off: the true time is up to this later
# Read the pod's boot clock first thing in a script, without forking (dash, bash, busybox ash).
READ_UPTIME = f'read -r npc_up npc_rest </proc/uptime; echo "{UPTIME_MARK} $npc_up"'


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
