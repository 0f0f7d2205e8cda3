"""Run many probes at once: one exec per source pod, every source pod concurrently."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from netpol_conformance.cluster.base import Backend
from netpol_conformance.probe.classify import classify_curl, classify_nslookup, parse_batch
from netpol_conformance.probe.commands import (
    ProbeSettings,
    batch_script,
    curl_argv,
    exec_command,
    probe_argv,
)
from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.probe.spec import DNS, Probe, ProbeTarget

PROBE_CONTAINER = "probe"


class ProbeRunner:
    def __init__(self, backend: Backend, settings: ProbeSettings, max_workers: int = 32) -> None:
        self.backend = backend
        self.settings = settings
        self.max_workers = max_workers
        self._listening: dict[tuple[str, str, int], bool] = {}

    @property
    def exec_timeout(self) -> float:
        dns = self.settings.dns_timeout * (self.settings.dns_tries + 1)
        return max(self.settings.timeout, dns) + 15.0

    def command(self, target: ProbeTarget) -> str:
        """The probe as a person would type it, for failure messages."""
        return exec_command(
            PROBE_CONTAINER, target.namespace, target.pod, probe_argv(target, self.settings)
        )

    def _run_source(self, targets: Sequence[ProbeTarget]) -> dict[Probe, Observation]:
        first = targets[0]
        script = batch_script([probe_argv(t, self.settings) for t in targets])
        result = self.backend.exec(
            first.namespace, first.pod, PROBE_CONTAINER, ["sh", "-c", script], self.exec_timeout
        )
        if result.error:
            return {t.probe: Observation(Outcome.EXEC_ERROR, result.error) for t in targets}
        lines = parse_batch(result.stdout, len(targets))
        out: dict[Probe, Observation] = {}
        for i, t in enumerate(targets):
            if i not in lines:
                detail = (result.stderr or result.stdout).strip()[-300:] or "no output"
                out[t.probe] = Observation(Outcome.EXEC_ERROR, f"no result line: {detail}")
                continue
            rc, text = lines[i]
            out[t.probe] = (
                classify_nslookup(rc, text) if t.probe.kind == DNS else classify_curl(rc, text)
            )
        return out

    def run(self, targets: Sequence[ProbeTarget]) -> dict[Probe, Observation]:
        by_source: dict[tuple[str, str], list[ProbeTarget]] = defaultdict(list)
        for t in targets:
            by_source[(t.namespace, t.pod)].append(t)
        results: dict[Probe, Observation] = {}
        if not by_source:
            return results
        workers = min(self.max_workers, len(by_source))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
            for part in pool.map(self._run_source, by_source.values()):
                results.update(part)
        return results

    def listening(self, namespace: str, pod: str, port: int) -> bool:
        """Control probe: does the destination's own server accept on this port?

        Run from the destination pod itself (its containers share one network namespace), so
        no policy is on the path. Only positive answers are cached.
        """
        key = (namespace, pod, port)
        if self._listening.get(key):
            return True
        argv = curl_argv("127.0.0.1", port, self.settings)
        result = self.backend.exec(namespace, pod, PROBE_CONTAINER, argv, self.exec_timeout)
        ok = not result.error and classify_curl(result.returncode, result.stderr).outcome is (
            Outcome.CONNECTED
        )
        self._listening[key] = ok
        return ok
