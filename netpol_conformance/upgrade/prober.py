"""Probe the live set continuously: one batched exec per source pod per round.

Every source pod has a thread of its own that starts a round every ``interval`` seconds (or
as soon as the previous round returned, when a round takes longer): the pod's probes go in
one exec, all at once, as the suite's ProbeRunner runs them. A slow or failing pod therefore
never holds up the others, and the load on the cluster is one exec per pod per round.

Each round's script also reads the pod's boot clock at its start and around each probe's tool
(``clock.timed_script``), so a sample is stamped with the moment the network answered it in
the pod, mapped onto the host's clock by the pod's ``PodClock``: under load a round's tools
may start a second or more after its exec began. A round whose exec failed is stamped with
the middle of the exec.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from netpol_conformance.cluster.base import Backend, ExecResult, PodState
from netpol_conformance.probe.commands import ProbeSettings
from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.probe.runner import ProbeRunner
from netpol_conformance.probe.spec import Probe, ProbeTarget
from netpol_conformance.upgrade.clock import PodClock, split_timing, timed_script
from netpol_conformance.upgrade.timeline import Sample

Source = tuple[str, str]
SILENCE = frozenset({Outcome.TIMEOUT, Outcome.DNS_FAIL})  # nothing came back: it took the timeout


@dataclass(frozen=True)
class ExecTiming:
    sent: float
    returned: float
    uptime: float | None  # the pod's boot clock when the script started
    tools: tuple[tuple[float, float], ...] = ()  # when each probe's tool started and ended


class TimedBackend(Backend):
    """A backend whose probe batches also read the pod's clock: at their start and just before
    each probe is launched (``clock.timed_script``)."""

    def __init__(self, inner: Backend, clock: Callable[[], float] = time.time) -> None:
        self.inner = inner
        self.info = inner.info
        self.clock = clock
        self.last: dict[Source, ExecTiming] = {}

    def exec(
        self, namespace: str, pod: str, container: str, argv: Sequence[str], timeout: float
    ) -> ExecResult:
        if len(argv) != 3 or list(argv[:2]) != ["sh", "-c"]:
            return self.inner.exec(namespace, pod, container, argv, timeout)
        sent = self.clock()
        result = self.inner.exec(
            namespace, pod, container, ["sh", "-c", timed_script(argv[2])], timeout
        )
        uptime, tools, stdout = split_timing(result.stdout)
        self.last[(namespace, pod)] = ExecTiming(sent, self.clock(), uptime, tools)
        return ExecResult(result.returncode, stdout, result.stderr, result.error)

    def apply(self, objects: Sequence[Any]) -> None:
        self.inner.apply(objects)

    def delete(self, objects: Sequence[Any]) -> None:
        self.inner.delete(objects)

    def pods(self, namespaces: Sequence[str]) -> list[PodState]:
        return self.inner.pods(namespaces)

    def delete_namespaces(self, label_selector: str) -> list[str]:
        return self.inner.delete_namespaces(label_selector)

    def network_policies(self, namespace: str) -> list[dict[str, Any]]:
        return self.inner.network_policies(namespace)

    def cni_components(self) -> list[str]:
        return self.inner.cni_components()


@dataclass(frozen=True)
class Round:
    timing: ExecTiming
    observed: Mapping[Probe, Observation]


class ContinuousProber:
    def __init__(
        self,
        backend: Backend,
        settings: ProbeSettings,
        targets: Sequence[ProbeTarget],
        interval: float,
        clocks: MutableMapping[Source, PodClock] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = TimedBackend(backend, clock)
        # one process per probe: clock.timed_script stamps each probe's start and end
        self.runner = ProbeRunner(self.backend, settings, group_tcp=False)
        self.interval = interval
        self.clock = clock
        self.clocks: MutableMapping[Source, PodClock] = {} if clocks is None else clocks
        self._by_source: dict[Source, list[ProbeTarget]] = defaultdict(list)
        for t in targets:
            self._by_source[(t.namespace, t.pod)].append(t)
        self._rounds: dict[Source, list[Round]] = {s: [] for s in self._by_source}
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
                args=(source, targets),
                name=f"live-{source[0]}/{source[1]}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()

    def _loop(self, source: Source, targets: list[ProbeTarget]) -> None:
        while not self._stop.is_set():
            began = self.clock()
            observed = self.runner.run(targets)
            timing = self.backend.last.get(source, ExecTiming(began, self.clock(), None))
            with self._lock:
                if timing.uptime is not None:
                    pod_clock = self.clocks.setdefault(source, PodClock())
                    pod_clock.observe(timing.uptime, timing.sent, timing.returned)
                self._rounds[source].append(Round(timing, observed))
            self._stop.wait(max(0.0, began + self.interval - self.clock()))

    def stop(self, timeout: float = 60.0) -> None:
        """Stop after the rounds in flight; wait for them (an exec is bounded by its timeout)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self.stopped = self.clock()

    def samples(self) -> dict[Probe, list[Sample]]:
        """Every probe's samples, oldest first, each at its round's start in the pod."""
        out: dict[Probe, list[Sample]] = {
            t.probe: [] for ts in self._by_source.values() for t in ts
        }
        with self._lock:
            for source, rounds in self._rounds.items():
                pod_clock = self.clocks.get(source)
                order = [t.probe for t in self._by_source[source]]  # the batch's order
                for r in rounds:
                    for i, probe in enumerate(order):
                        observation = r.observed[probe]
                        at = _when(r.timing, i, observation.outcome, pod_clock)
                        out[probe].append(Sample(at, observation))
        return out

    def rounds(self) -> int:
        """Rounds completed by the slowest source pod."""
        with self._lock:
            return min((len(r) for r in self._rounds.values()), default=0)


def _when(timing: ExecTiming, index: int, outcome: Outcome, pod_clock: PodClock | None) -> float:
    """When the network gave probe ``index`` of a round its answer, as well as it is known:
    the end of its tool for an answer that comes back at once (connected, refused, resolved),
    the start of its tool for silence (a timeout: its first packet went out then)."""
    if pod_clock is not None and pod_clock.known:
        if index < len(timing.tools):
            started, ended = timing.tools[index]
            return pod_clock.epoch(started if outcome in SILENCE else ended)
        if timing.uptime is not None:
            return pod_clock.epoch(timing.uptime)
    return (timing.sent + timing.returned) / 2
