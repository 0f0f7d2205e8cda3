"""The live part of an upgrade check: set up, probe, upgrade, wait, settle, tear down.

One deployment of the tutorial's topology gets the final state (step 5 over steps 1-4). The
live set is probed continuously and the held connections are opened; then the upgrade command
runs, the CNI is waited for, probing goes on for the settle period, and everything is read
back into an ``UpgradeRecord`` on one time axis. ``phase`` always names what is going on, so
that an interruption can say where it happened; ``close`` deletes whatever was made.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from netpol_conformance.cluster.base import Backend, ClusterInfo, Progress
from netpol_conformance.cluster.providers import Provider
from netpol_conformance.plan.catalogue import FINAL_STATE
from netpol_conformance.plan.layout import load_layout
from netpol_conformance.plan.plan import SuitePlan, build_plan
from netpol_conformance.probe.commands import ProbeSettings
from netpol_conformance.probe.spec import Probe
from netpol_conformance.results.records import enforcing_nodes
from netpol_conformance.results.upgrade import (
    CNI_READY,
    PROBING_STARTED,
    PROBING_STOPPED,
    UPGRADE_FINISHED,
    UPGRADE_STARTED,
    UpgradeRecord,
)
from netpol_conformance.run.scenarios import ScenarioRunner
from netpol_conformance.settings import SuiteSettings
from netpol_conformance.upgrade.clock import PodClock
from netpol_conformance.upgrade.cni_watch import CniWatch
from netpol_conformance.upgrade.command import run_upgrade
from netpol_conformance.upgrade.events import utc_text
from netpol_conformance.upgrade.gate import GateOptions
from netpol_conformance.upgrade.held_runner import HeldConnections
from netpol_conformance.upgrade.live_set import LiveProbe, held_paths, live_probes
from netpol_conformance.upgrade.prober import ContinuousProber
from netpol_conformance.upgrade.simulated import SimulatedUpgrade
from netpol_conformance.upgrade.timeline import (
    HeldLog,
    RawEvent,
    Sample,
    agent_events,
    held_record,
    probe_record,
)

ESTABLISH_TIMEOUT = 30.0  # seconds for every held connection to answer twice


@dataclass
class LiveCheck:
    settings: SuiteSettings
    options: GateOptions
    provider: Provider
    make_watch: Callable[[Backend, ClusterInfo], CniWatch]
    root: Path
    say: Progress
    wrap: Callable[[Backend], Backend] = lambda b: b
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))
    phase: str = "setting up the live probes"
    info: ClusterInfo | None = None
    backend: Backend | None = None
    runner: ScenarioRunner | None = None
    prober: ContinuousProber | None = None
    held: HeldConnections | None = None
    watch: CniWatch | None = None

    def live_settings(self) -> ProbeSettings:
        t = self.options.live_timeout
        return ProbeSettings(timeout=t, dns_timeout=max(1, math.ceil(t)), dns_tries=1)

    def run(self) -> UpgradeRecord:
        o = self.options
        self.phase = "setting up the live probes"
        self.info = self.provider.prepare(self.say)
        backend = self.backend = self.wrap(self.provider.connect(self.info))
        plan = build_plan(
            load_layout(self.settings.manifests), self.settings.profile, self.settings.has_external
        )
        live, gated = self._deploy(backend, plan)
        runner = self.runner
        assert runner is not None
        targets = [runner.deployment.target(lp.probe) for lp in live]
        clocks: dict[tuple[str, str], PodClock] = {}  # every source pod's clock, shared
        self.prober = ContinuousProber(backend, self.live_settings(), targets, o.interval, clocks)
        paths = held_paths(plan[FINAL_STATE], runner.deployment.pods)
        self.held = HeldConnections(
            backend, [runner.deployment.target(p) for p in paths], o.interval, clocks
        )
        self.watch = self.make_watch(backend, self.info)
        self.say(
            f"live set: {len(live)} probes from {len({p.probe.source for p in live})} pods "
            f"every {o.interval:g} s, {len(paths)} held connections; the CNI is Ready when "
            f"{self.watch.description}"
        )

        self.phase = "opening the held connections"
        self.held.open()
        self.held.wait_established(ESTABLISH_TIMEOUT)
        self.phase = "probing before the upgrade"
        self.watch.start()
        version_before = self.watch.version()
        self.prober.start()
        time.sleep(o.baseline)

        self.phase = f"running the upgrade command ({o.upgrade_command})"
        self.say(f"upgrade: {o.upgrade_command}")
        env = {"NETPOL_KUBE_CONTEXT": self.info.context}
        if self.info.kubeconfig:
            env["KUBECONFIG"] = self.info.kubeconfig
        simulated = backend if isinstance(backend, SimulatedUpgrade) else None
        command = run_upgrade(
            o.upgrade_command,
            self.root,
            env,
            o.upgrade_timeout,
            self.say,
            on_start=simulated.begin if simulated else lambda: None,
        )
        if simulated is not None:
            simulated.end()
        t0 = command.started
        self.say(
            f"upgrade command: {command.outcome} after {command.finished - command.started:.2f} s"
        )

        self.phase = "waiting for the CNI to be Ready again"
        ready_at = self._wait_ready()
        self.phase = "probing after the upgrade (settling)"
        self.say(f"probing {o.settle:g} s more")
        time.sleep(o.settle)
        read_at = time.time()
        logs = self.held.read()
        self.prober.stop()
        self.watch.stop()
        events = [*command.events, *self.watch.events()]

        notes = []
        if command.exit_code != 0:
            notes.append(
                f"the upgrade command: {command.outcome}; its last lines: "
                + " | ".join(command.tail[-5:])
            )
        if ready_at is None:
            notes.append(f"not Ready after {o.ready_timeout:g} s: {self._ready_state()}")
        started = self.prober.started or t0
        phases = {
            PROBING_STARTED: started - t0,
            UPGRADE_STARTED: 0.0,
            UPGRADE_FINISHED: command.finished - t0,
            PROBING_STOPPED: (self.prober.stopped or read_at) - t0,
        }
        if ready_at is not None:
            phases[CNI_READY] = ready_at - t0
        return UpgradeRecord(
            epoch=utc_text(t0),
            upgrade_command=o.upgrade_command,
            exit_code=command.exit_code,
            command_outcome=command.outcome,
            ready_check=self.watch.description,
            ready=ready_at is not None,
            interval=o.interval,
            settle=o.settle,
            limits=o.limits,
            phases=phases,
            probes=self._probe_records(live, gated, t0),
            connections=self._held_records(logs, read_at, t0),
            events=agent_events(_unique(events), t0),
            cni_version_before=version_before,
            cni_version_after=self.watch.version(),
            notes=tuple(notes),
        )

    def _deploy(self, backend: Backend, plan: SuitePlan) -> tuple[list[LiveProbe], set[Probe]]:
        assert self.info is not None
        options = self.settings.run_options(self.info)
        self.runner = ScenarioRunner(backend, plan, options, self.run_id, "upgrade-check", self.say)
        self.say(f"putting the tutorial's final state in force ({FINAL_STATE})")
        result = self.runner.activate(FINAL_STATE)
        live = list(live_probes(plan[FINAL_STATE]))
        gated = {lp.probe for lp in live if result.probe(lp.probe).met}
        off = [result.probe(lp.probe) for lp in live if lp.probe not in gated]
        if off:
            shown = ", ".join(
                f"{r.probe.label} (expected {r.expected.value}, observed {r.observed})"
                for r in off[:6]
            )
            more = f" and {len(off) - 6} more" if len(off) > 6 else ""
            self.say(
                f"before the upgrade, {len(off)} of the {len(live)} live probes are not as "
                f"expected; they are followed but do not decide the verdict: {shown}{more}"
            )
        return live, gated

    def _wait_ready(self) -> float | None:
        assert self.watch is not None
        deadline = time.time() + self.options.ready_timeout
        last_note = time.time()
        while True:
            asked = time.time()
            if self.watch.ready():  # Ready when the check that said so began
                self.say(f"the CNI is Ready ({self.watch.description})")
                return asked
            now = time.time()
            if now > deadline:
                self.say(f"the CNI is not Ready after {self.options.ready_timeout:g} s")
                return None
            if now - last_note > 10:
                self.say(f"waiting for the CNI: {self._ready_state()}")
                last_note = now
            time.sleep(1.0)

    def _ready_state(self) -> str:
        return str(getattr(self.watch, "last_state", "") or getattr(self.watch, "last_output", ""))

    def _probe_records(self, live: list[LiveProbe], gated: set[Probe], t0: float) -> tuple:
        assert self.prober is not None and self.runner is not None
        samples: Mapping[Probe, list[Sample]] = self.prober.samples()
        deployment = self.runner.deployment
        node_of = {key: pod.node for key, pod in deployment.pods.items() if pod.node}
        denied_by = {r.probe: r.denied_by for r in self.runner.result(FINAL_STATE).probes}
        return tuple(
            probe_record(
                lp.probe.label,
                source=lp.probe.source,
                target=lp.probe.target,
                port=lp.probe.port,
                protocol=lp.probe.protocol,
                kind=lp.probe.kind,
                allowed=lp.allowed,
                expected=lp.expected,
                role=lp.role,
                gated=lp.probe in gated,
                path=deployment.path(lp.probe),
                samples=samples.get(lp.probe, []),
                t0=t0,
                enforced_on=sorted(
                    enforcing_nodes(
                        node_of, lp.probe.source, lp.probe.target, denied_by.get(lp.probe, ())
                    )
                ),
            )
            for lp in live
        )

    def _held_records(self, logs: Mapping[Probe, HeldLog], read_at: float, t0: float) -> tuple:
        assert self.runner is not None
        return tuple(
            held_record(
                p.label,
                source=p.source,
                target=p.target,
                port=p.port,
                path=self.runner.deployment.path(p),
                log=log,
                interval=self.options.interval,
                stopped=read_at,
                t0=t0,
            )
            for p, log in logs.items()
        )

    def close(self) -> list[str]:
        """Stop everything and delete what the live part made; never raises."""
        gone: list[str] = []
        for stop in (
            lambda: self.prober.stop(timeout=5) if self.prober else None,
            lambda: self.watch.stop() if self.watch else None,
            lambda: self.held.stop() if self.held else None,
        ):
            try:
                stop()
            except Exception as exc:
                self.say(f"while stopping: {exc}")
        if self.backend is not None:
            try:
                if self.runner is not None:  # its labels mark all that the live part made
                    gone += self.runner.deployment.destroy()
            except Exception as exc:
                self.say(f"could not delete the live probes' namespaces: {exc}")
            if isinstance(self.backend, SimulatedUpgrade):
                self.backend.close()
        return gone


def _unique(events: list[RawEvent]) -> list[RawEvent]:
    seen: dict[tuple[str, str, float], RawEvent] = {}
    for e in events:
        seen.setdefault((e.agent, e.event, round(e.at, 3)), e)
    return list(seen.values())
