"""Probe the live set continuously: one batched exec per source pod per round.

Every source pod has a thread of its own that starts a round every ``interval`` seconds (or
as soon as the previous round returned, when a round takes longer): the pod's probes go in
one exec, all at once, as the suite's ProbeRunner runs them. A slow or failing pod therefore
never holds up the others, and the load on the cluster is one exec per pod per round. Each
observation is stamped with the middle of its exec.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

from netpol_conformance.probe.runner import ProbeRunner
from netpol_conformance.probe.spec import Probe, ProbeTarget
from netpol_conformance.upgrade.timeline import Sample


class ContinuousProber:
    def __init__(
        self,
        runner: ProbeRunner,
        targets: Sequence[ProbeTarget],
        interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.runner = runner
        self.interval = interval
        self.clock = clock
        self._by_source: dict[tuple[str, str], list[ProbeTarget]] = defaultdict(list)
        for t in targets:
            self._by_source[(t.namespace, t.pod)].append(t)
        self._samples: dict[Probe, list[Sample]] = {t.probe: [] for t in targets}
        self._rounds: dict[tuple[str, str], int] = dict.fromkeys(self._by_source, 0)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started: float | None = None
        self.stopped: float | None = None

    def start(self) -> None:
        self.started = self.clock()
        for source, targets in self._by_source.items():
            thread = threading.Thread(
                target=self._loop,
                args=(targets,),
                name=f"live-{source[0]}/{source[1]}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()

    def _loop(self, targets: list[ProbeTarget]) -> None:
        source = (targets[0].namespace, targets[0].pod)
        while not self._stop.is_set():
            sent = self.clock()
            observed = self.runner.run(targets)
            at = (sent + self.clock()) / 2
            with self._lock:
                for probe, observation in observed.items():
                    self._samples[probe].append(Sample(at, observation))
                self._rounds[source] += 1
            self._stop.wait(max(0.0, sent + self.interval - self.clock()))

    def stop(self, timeout: float = 60.0) -> None:
        """Stop after the rounds in flight; wait for them (an exec is bounded by its timeout)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self.stopped = self.clock()

    def samples(self) -> Mapping[Probe, list[Sample]]:
        with self._lock:
            return {p: list(s) for p, s in self._samples.items()}

    def rounds(self) -> int:
        """Rounds completed by the slowest source pod."""
        with self._lock:
            return min(self._rounds.values(), default=0)
