"""Run many probes at once: one exec per source pod, every source pod concurrently.

The threads are kept for the runner's life: the cluster client gives each thread a client of
its own, so a new thread per poll would also mean a new client per exec.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from netpol_conformance.cluster.base import Backend
from netpol_conformance.probe.batch import Batch
from netpol_conformance.probe.commands import ProbeSettings, exec_command
from netpol_conformance.probe.kinds import KINDS, control_argv, kind_of, probe_argv, server_kind
from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.probe.ports import SourcePorts
from netpol_conformance.probe.spec import Probe, ProbeTarget

PROBE_CONTAINER = "probe"


class ProbeRunner:
    """Runs probes; ``group_tcp`` runs a source pod's TCP probes as one curl process
    (``probe.curl_group``), which a poll of many probes needs. Without it each probe is a
    process of its own, which ``upgrade.clock`` times one by one."""

    def __init__(
        self,
        backend: Backend,
        settings: ProbeSettings,
        max_workers: int = 32,
        group_tcp: bool = True,
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.max_workers = max_workers
        self.group_tcp = group_tcp
        self._listening: dict[tuple[str, str, int, str], bool] = {}
        # protocol -> what a control probe observed when the kernel could not carry it
        self.unsupported: dict[str, Observation] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self.ports = SourcePorts()  # every UDP and DNS probe of this runner binds its own
        self._last_port: dict[ProbeTarget, int] = {}  # the port each target last used

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="probe")
            return self._pool

    @property
    def exec_timeout(self) -> float:
        dns = self.settings.dns_timeout * (self.settings.dns_tries + 1)
        return max(self.settings.timeout, dns) + 15.0

    def command(self, target: ProbeTarget) -> str:
        """The probe as a person would type it, for failure messages: as it last ran (a
        datagram probe with the source port it last bound)."""
        argv = probe_argv(target, self.settings, self._last_port.get(target))
        return exec_command(PROBE_CONTAINER, target.namespace, target.pod, argv)

    def argv(self, target: ProbeTarget) -> list[str]:
        """The probe's command line for its next run: a fresh source port where it binds one."""
        port = None
        if kind_of(target.probe).binds_port(target.probe):
            port = self.ports.take((target.namespace, target.pod))
            self._last_port[target] = port
        return probe_argv(target, self.settings, port)

    def _run_batch(
        self, namespace: str, pod: str, argvs: Sequence[Sequence[str]], kinds: Sequence[str]
    ) -> list[Observation]:
        batch = Batch.of(argvs, group=self.group_tcp)
        result = self.backend.run_script(
            namespace, pod, PROBE_CONTAINER, batch.script, self.exec_timeout
        )
        if result.error:
            return [Observation(Outcome.EXEC_ERROR, result.error) for _ in argvs]
        lines = batch.results(result.stdout)
        out = []
        for i, kind in enumerate(kinds):
            if i not in lines:
                detail = (result.stderr or result.stdout).strip()[-300:] or "no output"
                out.append(Observation(Outcome.EXEC_ERROR, f"no result line: {detail}"))
            else:
                out.append(KINDS[kind].classify(*lines[i]))
        return out

    def _run_source(self, targets: Sequence[ProbeTarget]) -> dict[Probe, Observation]:
        first = targets[0]
        argvs = [self.argv(t) for t in targets]
        observed = self._run_batch(
            first.namespace, first.pod, argvs, [t.probe.kind for t in targets]
        )
        return {t.probe: obs for t, obs in zip(targets, observed, strict=True)}

    def run(self, targets: Sequence[ProbeTarget]) -> dict[Probe, Observation]:
        by_source: dict[tuple[str, str], list[ProbeTarget]] = defaultdict(list)
        for t in targets:
            by_source[(t.namespace, t.pod)].append(t)
        results: dict[Probe, Observation] = {}
        for part in self._executor().map(self._run_source, by_source.values()):
            results.update(part)
        return results

    def listening(self, namespace: str, pod: str, port: int, protocol: str = "TCP") -> bool:
        """Control probe: does the destination's own server answer on this port?

        Run from the destination pod itself (its containers share one network namespace), so
        no policy is on the path. Only positive answers are cached.
        """
        key = (namespace, pod, port, protocol)
        if not self._listening.get(key):
            self._control(namespace, pod, [(port, protocol)])
        return self._listening[key]

    def prove_listening(self, servers: Iterable[tuple[str, str, int, str]]) -> None:
        """Run the control probes of many (namespace, pod, port, protocol) at once: one exec
        per pod, every pod concurrently. What answers is remembered as ``listening`` does; a
        protocol the kernel cannot carry (no socket could be opened) in ``unsupported``."""
        by_pod: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        for namespace, pod, port, protocol in servers:
            if not self._listening.get((namespace, pod, port, protocol)):
                by_pod[(namespace, pod)].append((port, protocol))
        list(self._executor().map(lambda kv: self._control(*kv[0], kv[1]), by_pod.items()))

    def _control(self, namespace: str, pod: str, ports: Sequence[tuple[int, str]]) -> None:
        kinds = [server_kind(protocol).name for _, protocol in ports]
        argvs = [control_argv(port, protocol, self.settings) for port, protocol in ports]
        observed = self._run_batch(namespace, pod, argvs, kinds)
        for (port, protocol), obs in zip(ports, observed, strict=True):
            self._listening[(namespace, pod, port, protocol)] = obs.outcome is Outcome.CONNECTED
            if obs.outcome is Outcome.UNSUPPORTED:
                self.unsupported.setdefault(protocol, obs)
