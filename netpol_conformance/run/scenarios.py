"""Run scenarios in turn on one deployment of the topology.

A worker deploys the topology once, proves that every server answers before any policy (so
that a slow pod is never mistaken for a deny), then runs its scenarios one after another: each
is applied from the open state (the previous scenario's policies removed and the open matrix
converged again), observed until it converges, and recorded as a ``StepResult``. Scenarios
stay independent in what they assert; what they share is only the pods.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from netpol_conformance.cluster.base import Backend, Progress
from netpol_conformance.deviations import Deviations
from netpol_conformance.errors import ConformanceError, SetupError, StepSetupError
from netpol_conformance.plan.catalogue import STEPS, Scenario
from netpol_conformance.plan.plan import SuitePlan
from netpol_conformance.probe.outcome import Observation
from netpol_conformance.probe.runner import ProbeRunner
from netpol_conformance.probe.spec import Probe
from netpol_conformance.results.records import StepResult
from netpol_conformance.run.deploy import Deployment
from netpol_conformance.run.observe import Observer
from netpol_conformance.run.options import RunOptions
from netpol_conformance.run.oracle_check import oracle_view
from netpol_conformance.run.transitions import allowed_in, states_applying, states_deleting

OPEN = STEPS[0]
WALKTHROUGH = "walkthrough"
ROUNDTRIP = "roundtrip"
DELETE_STEP = "delete-policies"
RESTORE_STEP = "restore-open"
HOLD_STEP = "hold"

Docs = list[dict[str, Any]]


class ScenarioRunner:
    def __init__(
        self,
        backend: Backend,
        plan: SuitePlan,
        options: RunOptions,
        run_id: str,
        name: str,
        progress: Progress,
        deviations: Deviations | None = None,
    ) -> None:
        if plan.has_external and backend.info.external_ip is None:
            raise SetupError(
                f"the {backend.info.backend} cluster provides no external host for step 4; "
                "pass --external-ip (--cluster existing) or recreate the cluster"
            )
        self.plan = plan
        self.progress = progress
        self.deviations = deviations  # the CNI's expected deviations: marked on each result
        self.deployment = Deployment(
            backend,
            plan.layout,
            options,
            run_id,
            name,
            progress,
            external_ip=backend.info.external_ip if plan.has_external else None,
        )
        self.probes = ProbeRunner(backend, options.probe)
        self.observer = Observer(self.deployment, self.probes, options)
        self.results: list[StepResult] = []  # everything observed, in order
        self.on_result: Callable[[StepResult], None] | None = None  # told of each, as it comes
        self.phases: dict[str, float] = {}  # the deployment's own: create, wait, destroy
        self._by_scenario: dict[str, StepResult] = {}
        self.errors: dict[str, ConformanceError] = {}  # scenario id -> why it could not run
        self._deploy_error: ConformanceError | None = None
        self._started = False  # create was attempted: close() must delete what it made
        self._deployed = False
        self._live: str | None = None  # the scenario whose policies are in force
        self._applied: Docs = []
        self._folders: tuple[str, ...] = ()

    # --- deployment

    def deploy(self) -> None:
        """Create the topology and prove it open; a failure is kept and raised again."""
        if self._deploy_error is not None:
            raise self._deploy_error.with_traceback(None)
        if self._deployed:
            return
        self._started = True
        try:
            self.progress(f"{self.deployment.name}: deploying the topology")
            self.phases.update(self.deployment.create())
            self._prove_servers()
            baseline = self._observe(OPEN.id, OPEN.id, time.monotonic(), dict(self.phases), None)
            self._by_scenario[OPEN.id] = baseline  # step 0's own verdicts, whatever they are
            if not baseline.converged:
                raise StepSetupError(
                    "the pods cannot reach each other before any policy is applied, so no "
                    "verdict would mean anything (see the tests of 0-no-policies)",
                    baseline,
                )
            self.observer.remember_open_answers(baseline)
            self._live = OPEN.id
            self._deployed = True
        except ConformanceError as exc:
            self._deploy_error = exc
            raise

    def _prove_servers(self) -> None:
        """Run every pod's control probes now, all at once: the first refusals of a scenario
        then find their evidence (the server accepts from inside its pod) already taken,
        instead of one exec after another while the scenario converges. (A server that does
        not answer yet is simply asked again when a refusal needs it.)"""
        t0 = time.monotonic()
        self.probes.prove_listening(
            (pod.namespace, pod.name, port.port, port.protocol)
            for pod in self.deployment.pods.values()
            for port in self.plan.layout.server_ports
        )
        self.phases["controls"] = time.monotonic() - t0

    def close(self) -> None:
        """Delete the deployment's namespaces (whatever state it got to); never raises."""
        if self._started:
            self.phases["destroy"] = self.deployment.destroy_quietly()

    # --- scenarios

    def result(self, scenario_id: str) -> StepResult:
        """The scenario's observed matrix, run on first use; a set-up failure is raised again."""
        if scenario_id in self.errors:
            raise self.errors[scenario_id].with_traceback(None)
        if scenario_id not in self._by_scenario:
            self.activate(scenario_id)
        return self._by_scenario[scenario_id]

    def activate(self, scenario_id: str) -> StepResult:
        """Put the scenario's policies in force (from the open state) and observe them."""
        if scenario_id in self.errors:
            raise self.errors[scenario_id].with_traceback(None)
        scenario = self.plan[scenario_id].scenario
        try:
            try:
                self.deploy()
            except SetupError:
                if scenario_id == OPEN.id and OPEN.id in self._by_scenario:
                    return self._by_scenario[OPEN.id]  # judged on its own probes
                raise
            if self._live == scenario_id and scenario_id in self._by_scenario:
                return self._by_scenario[scenario_id]
            self._restore_open(scenario_id)
            result = self._apply(scenario, scenario.folders, scenario.id)
        except ConformanceError as exc:
            self.errors[scenario_id] = exc
            raise
        self._by_scenario[scenario_id] = result
        self._live = scenario_id
        return result

    def walkthrough(self) -> list[StepResult]:
        """Steps 0 to 5 applied on top of each other, as a reader follows the tutorial."""
        self.deploy()
        out = []
        self._restore_open(WALKTHROUGH)
        for step in STEPS:
            added = tuple(f for f in step.folders if f not in self._folders)
            out.append(self._apply(step, added, step.id, record_as=WALKTHROUGH))
        self._live = STEPS[-1].id if all(r.converged for r in out) else None
        return out

    def hold(self, scenario_id: str, seconds: float) -> StepResult | None:
        """Keep the scenario in force and probe its matrix over and over for ``seconds``
        after it converged: rules that vanish some time after they took effect, or flapping
        slower than the confirmation window, show as a probe that deviates, with its time.
        None when the scenario never converged: there is no state to hold (its own tests say
        why)."""
        before = self.result(scenario_id)
        if self._live != scenario_id:
            before = self.activate(scenario_id)
        if not before.converged:
            return None
        applied = tuple(self._applied)
        return self._observe(
            scenario_id,
            HOLD_STEP,
            time.monotonic(),
            {},
            [list(applied)],  # nothing changes: every probe must keep its verdict
            window=seconds,
        )

    def roundtrip(self, scenario_id: str) -> tuple[StepResult, StepResult]:
        """Apply a scenario, then delete its policies: enforced, then open again."""
        self.deploy()
        scenario = self.plan[scenario_id].scenario
        self._restore_open(ROUNDTRIP)
        applied = self._apply(scenario, scenario.folders, scenario.id, record_as=ROUNDTRIP)
        removed = self._remove(ROUNDTRIP, DELETE_STEP)
        return applied, removed

    # --- transitions

    def _apply(
        self,
        scenario: Scenario,
        folders: tuple[str, ...],
        step: str,
        record_as: str | None = None,
    ) -> StepResult:
        docs = self.deployment.renderer.policies(folders)
        states = states_applying(self._applied, docs)
        started = time.monotonic()
        if docs:
            self.deployment.apply(docs)
        self._applied += docs
        self._folders += folders
        self._live = None
        phases = {"apply": time.monotonic() - started}
        return self._observe(scenario.id, step, started, phases, states, record_as=record_as)

    def _remove(self, scenario: str, step: str) -> StepResult:
        states = states_deleting(self._applied, self._applied)
        started = time.monotonic()
        if self._applied:
            self.deployment.delete(self._applied)
        self._applied, self._folders, self._live = [], (), None
        phases = {"delete": time.monotonic() - started}
        result = self._observe(OPEN.id, step, started, phases, states, record_as=scenario)
        if result.converged:
            self._live = OPEN.id
        return result

    def _restore_open(self, for_scenario: str) -> None:
        """Remove whatever is in force and wait for the open matrix, recorded as the step
        ``restore-open`` of the scenario that comes next."""
        if self._live == OPEN.id and not self._applied:
            return
        result = self._remove(for_scenario, RESTORE_STEP)
        if not result.converged:
            raise StepSetupError(
                "after deleting the previous scenario's policies, the matrix did not return "
                "to all-open, so this scenario cannot be judged on its own",
                result,
            )

    def _observe(
        self,
        scenario_id: str,
        step: str,
        started: float,
        phases: Mapping[str, float],
        states: Sequence[Docs] | None,
        record_as: str | None = None,
        window: float | None = None,
    ) -> StepResult:
        """Observe the matrix after a change that went through ``states`` (the policies in
        force before it, then after each object but the last; None: a new deployment)."""
        plan = self.plan[scenario_id]
        applied = tuple(self._applied)
        # Verdict steps are watched for flapping; a return to open is only a transition.
        if window is None:
            window = 0.0 if step == RESTORE_STEP else self.observer.options.confirm_window
        view = oracle_view(plan, self.deployment, applied)
        result = self.observer.observe(
            plan,
            scenario=record_as or scenario_id,
            step=step,
            policies=applied,
            started=started,
            phases=phases,
            disagreements=view.disagreements,
            denied_by=view.denied_by,
            confirm_window=window,
            states=None if states is None else allowed_in(plan.probes, self.deployment, states),
            known=known_deviation(self.deviations, record_as or scenario_id),
        )
        if self.deviations is not None:
            result = with_deviations(result, self.deviations)
        self.results.append(result)
        if self.on_result is not None:
            self.on_result(result)
        return result


def known_deviation(
    deviations: Deviations | None, scenario: str
) -> Callable[[Probe, Observation], bool] | None:
    """Whether a probe's observation is one the CNI's expected deviations list for
    ``scenario``; None when they list nothing for it (the matrix then waits for its deadline)."""
    if deviations is None or not any(e.scenario == scenario for e in deviations.entries):
        return None
    return lambda probe, seen: deviations.match(scenario, probe.label, seen) is not None


def with_deviations(step: StepResult, deviations: Deviations) -> StepResult:
    """The step with each probe that an expected deviation of the CNI covers carrying its reason:
    decided here, once, for the test's verdict and for the results file alike."""
    if not deviations.entries:
        return step
    probes = []
    for r in step.probes:
        d = deviations.match(step.scenario, r.probe.label, r.observed) if r.observed else None
        probes.append(dataclasses.replace(r, deviation=d.explanation) if d and not r.met else r)
    return dataclasses.replace(step, probes=tuple(probes))
