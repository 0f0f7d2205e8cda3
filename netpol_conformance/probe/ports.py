"""Source ports for UDP and DNS probes, so that no probe rides the flow of an earlier one.

A stateful firewall accepts a packet of a flow it has already seen answered (conntrack's
ESTABLISHED) before it looks at any policy: kube-router's pod chains begin that way, and every
stateful enforcer has the same shortcut. UDP has no handshake, so a flow is only its 5-tuple,
and Linux keeps a UDP entry for 30 s after its last packet (120 s once it has seen traffic both
ways more than once).
A datagram whose source port happens to equal the one of an allowed probe made moments before
(the kernel picks ephemeral ports at random) therefore passes a deny that is now in force.

So every UDP and DNS probe binds a source port of its own, handed out here per source pod in
turn from a range below Linux's default ephemeral range (32768-60999) and Kubernetes' NodePort
range (30000-32767, which a host-networked pod shares): a port comes back for the same pod only
after ``LAST - FIRST + 1`` probes from it, far longer than any conntrack timeout at the pace of
a poll, and it never collides with a port the kernel gives to curl or to the servers. Each
pod starts at a random place in the range, so that two runs on one cluster do not walk the
same ports. (TCP needs none of this: a new SYN on the entry of a closed connection starts a
new one, which the policy judges.)
"""

from __future__ import annotations

import random
import threading
from collections.abc import Hashable

FIRST = 20000
LAST = 29999


class SourcePorts:
    """Hands out source ports per source (any hashable key, e.g. (namespace, pod))."""

    def __init__(
        self, first: int = FIRST, last: int = LAST, rng: random.Random | None = None
    ) -> None:
        if not 1024 <= first <= last <= 65535:
            raise ValueError(f"bad source port range {first}-{last}")
        self.first = first
        self.size = last - first + 1
        self._rng = rng or random.SystemRandom()
        self._next: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def take(self, source: Hashable) -> int:
        """The next port of ``source``; thread-safe."""
        with self._lock:
            offset = self._next.get(source)
            if offset is None:
                offset = self._rng.randrange(self.size)
            self._next[source] = (offset + 1) % self.size
            return self.first + offset
