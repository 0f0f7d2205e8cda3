"""Open, read and stop the held connections of a deployment: one exec per source pod each."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from netpol_conformance.cluster.base import Backend
from netpol_conformance.errors import SetupError
from netpol_conformance.probe.runner import PROBE_CONTAINER
from netpol_conformance.probe.spec import Probe, ProbeTarget
from netpol_conformance.upgrade.held import (
    Hold,
    clock_offset,
    parse_read,
    parse_uptime,
    read_script,
    start_script,
    stop_script,
)
from netpol_conformance.upgrade.timeline import HeldLog

EXEC_TIMEOUT = 30.0


class HeldConnections:
    def __init__(
        self,
        backend: Backend,
        paths: Sequence[ProbeTarget],
        beat: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.beat = beat
        self.clock = clock
        self._by_source: dict[tuple[str, str], list[tuple[Hold, Probe]]] = defaultdict(list)
        for i, t in enumerate(paths):
            hold = Hold(f"h{i}", t.address, t.probe.port, beat)
            self._by_source[(t.namespace, t.pod)].append((hold, t.probe))
        self._offsets: dict[tuple[str, str], float] = {}

    @property
    def probes(self) -> list[Probe]:
        return [p for holds in self._by_source.values() for _, p in holds]

    def _exec(self, source: tuple[str, str], script: str) -> tuple[str, float, float]:
        sent = self.clock()
        result = self.backend.exec(*source, PROBE_CONTAINER, ["sh", "-c", script], EXEC_TIMEOUT)
        returned = self.clock()
        if result.error or result.returncode != 0:
            detail = result.error or (result.stderr or result.stdout).strip()[-300:]
            raise SetupError(f"held connections in {source[0]}/{source[1]}: {detail}")
        return result.stdout, sent, returned

    def _each(self, work: Callable[[tuple[str, str]], object]) -> list[object]:
        sources = list(self._by_source)
        if not sources:
            return []
        with ThreadPoolExecutor(max_workers=min(16, len(sources))) as pool:
            return list(pool.map(work, sources))

    def open(self) -> None:
        """Start every held connection; remember each source pod's clock offset."""

        def start(source: tuple[str, str]) -> None:
            holds = [h for h, _ in self._by_source[source]]
            out, sent, returned = self._exec(source, start_script(holds))
            uptime = parse_uptime(out)
            if uptime is None:
                raise SetupError(
                    f"held connections in {source[0]}/{source[1]}: no /proc/uptime in {out!r}"
                )
            self._offsets[source] = clock_offset(uptime, sent, returned)

        self._each(start)

    def read(self) -> dict[Probe, HeldLog]:
        """Every held connection's log so far, in seconds since the epoch."""

        def read_one(source: tuple[str, str]) -> dict[Probe, HeldLog]:
            pairs = self._by_source[source]
            out, _, _ = self._exec(source, read_script([h for h, _ in pairs]))
            logs = parse_read(out, self._offsets.get(source, 0.0))
            return {p: logs.get(h.id, HeldLog((), error="no log")) for h, p in pairs}

        merged: dict[Probe, HeldLog] = {}
        for part in self._each(read_one):
            merged.update(part)  # type: ignore[arg-type]
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

        def stop_one(source: tuple[str, str]) -> None:
            holds = [h for h, _ in self._by_source[source]]
            self.backend.exec(
                *source, PROBE_CONTAINER, ["sh", "-c", stop_script(holds)], EXEC_TIMEOUT
            )

        with contextlib.suppress(Exception):  # deleting the namespaces ends them too
            self._each(stop_one)
