"""Open, read and stop the held connections of a deployment: one exec per source pod each."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from netpol_conformance.cluster.base import Backend
from netpol_conformance.errors import SetupError
from netpol_conformance.probe.runner import PROBE_CONTAINER
from netpol_conformance.probe.spec import Probe, ProbeTarget
from netpol_conformance.upgrade.clock import PodClock, split_uptime
from netpol_conformance.upgrade.held import (
    Hold,
    parse_read,
    read_script,
    start_script,
    stop_script,
)
from netpol_conformance.upgrade.timeline import HeldLog

EXEC_TIMEOUT = 30.0
T = TypeVar("T")
Source = tuple[str, str]


class HeldConnections:
    def __init__(
        self,
        backend: Backend,
        paths: Sequence[ProbeTarget],
        beat: float,
        clocks: MutableMapping[Source, PodClock] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.beat = beat
        self.clock = clock
        self.clocks: MutableMapping[Source, PodClock] = {} if clocks is None else clocks
        self._by_source: dict[Source, list[tuple[Hold, Probe]]] = defaultdict(list)
        for i, t in enumerate(paths):
            hold = Hold(f"h{i}", t.address, t.probe.port, beat)
            self._by_source[(t.namespace, t.pod)].append((hold, t.probe))

    def _exec(self, source: Source, script: str) -> tuple[float, str]:
        """Run a script that prints its uptime first; (that uptime as epoch seconds, the rest)."""
        sent = self.clock()
        result = self.backend.exec(*source, PROBE_CONTAINER, ["sh", "-c", script], EXEC_TIMEOUT)
        returned = self.clock()
        if result.error or result.returncode != 0:
            detail = result.error or (result.stderr or result.stdout).strip()[-300:]
            raise SetupError(f"held connections in {source[0]}/{source[1]}: {detail}")
        uptime, rest = split_uptime(result.stdout)
        if uptime is None:
            raise SetupError(
                f"held connections in {source[0]}/{source[1]}: no uptime in {result.stdout[:200]!r}"
            )
        pod_clock = self.clocks.setdefault(source, PodClock())
        pod_clock.observe(uptime, sent, returned)
        return pod_clock.epoch(uptime), rest

    def _each(self, work: Callable[[Source], T]) -> list[T]:
        sources = list(self._by_source)
        if not sources:
            return []
        with ThreadPoolExecutor(max_workers=min(16, len(sources))) as pool:
            return list(pool.map(work, sources))

    def open(self) -> None:
        """Start every held connection."""
        self._each(lambda source: self._exec(source, start_script(self._holds(source))))

    def _holds(self, source: Source) -> list[Hold]:
        return [h for h, _ in self._by_source[source]]

    def read(self) -> dict[Probe, HeldLog]:
        """Every held connection's log so far, in seconds since the epoch."""

        def read_one(source: Source) -> dict[Probe, HeldLog]:
            at, out = self._exec(source, read_script(self._holds(source)))
            offset = self.clocks[source].offset()
            logs = parse_read(out)
            missing = HeldLog((), error="no log")
            return {
                p: logs.get(h.id, missing).shifted(offset, at) for h, p in self._by_source[source]
            }

        merged: dict[Probe, HeldLog] = {}
        for part in self._each(read_one):
            merged.update(part)
        return merged

    def wait_established(self, timeout: float) -> dict[Probe, HeldLog]:
        """Wait until every held connection answered twice; SetupError naming those that did
        not (a held connection that never worked proves nothing about the upgrade)."""
        deadline = self.clock() + timeout
        while True:
            logs = self.read()
            missing = [p for p, log in logs.items() if len(log.round_trips) < 2]
            if not missing:
                return logs
            if self.clock() > deadline:
                detail = "; ".join(f"{p.label}: {logs[p].error or 'no answer'}" for p in missing)
                raise SetupError(
                    f"{len(missing)} held connections did not carry data before the upgrade "
                    f"({detail}); is socat in the probe image?"
                )
            time.sleep(self.beat)

    def stop(self) -> None:
        """End every held connection; never raises (the namespaces go next anyway)."""

        def stop_one(source: Source) -> None:
            script = stop_script(self._holds(source))
            self.backend.exec(*source, PROBE_CONTAINER, ["sh", "-c", script], EXEC_TIMEOUT)

        with contextlib.suppress(Exception):  # deleting the namespaces ends them too
            self._each(stop_one)
