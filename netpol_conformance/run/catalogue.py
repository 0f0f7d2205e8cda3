"""Run the catalogue's scenarios on one deployment of its topology (x, y, z with a, b, c).

A worker deploys the catalogue's topology once, proves every server listens on every port
from inside its pod and that the pods reach each other before any policy, and then runs its
scenarios one after another. A scenario starts from the topology as deployed: what the
previous one left (its policies, its labels, the pods it created) is undone without waiting for
the open matrix, in one batch with the first state's own changes; while that state converges,
a probe may show any verdict that some order of the batch gives it (``run.orderings``), and
nothing else. Each state's changes are made as a user makes them (apply, replace, delete,
label, create a pod), and the state is observed until it converges, confirmed, and recorded as
a ``StepResult`` of its scenario.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from netpol_conformance.cluster.base import Backend, Progress
from netpol_conformance.cni import CniProfile
from netpol_conformance.deviations import Deviations
from netpol_conformance.errors import ConformanceError, SetupError, StepSetupError
from netpol_conformance.plan.catalogue import Scenario as RunScenario
from netpol_conformance.plan.layout import Layout, LogicalPod, ServerPort
from netpol_conformance.plan.plan import ScenarioPlan
from netpol_conformance.plan.states import (
    GROUP,
    NO_SCTP_KERNEL,
    protocol_skip_reason,
    skip_reason,
    state_plan,
)
from netpol_conformance.probe.kinds import server_kind
from netpol_conformance.probe.runner import ProbeRunner
from netpol_conformance.probe.spec import Probe
from netpol_conformance.results.records import StepResult
from netpol_conformance.run.deploy import Deployment
from netpol_conformance.run.observe import Observer
from netpol_conformance.run.options import RunOptions
from netpol_conformance.run.oracle_check import oracle_view
from netpol_conformance.run.orderings import possible_states
from netpol_conformance.run.scenarios import known_deviation, with_deviations
from netpol_conformance.run.transitions import oracle_verdicts
from netpol_conformance.scenarios.build import render_addresses
from netpol_conformance.scenarios.catalogue import BY_ID
from netpol_conformance.scenarios.model import (
    Apply,
    CreatePod,
    Delete,
    Label,
    Scenario,
    Update,
)
from netpol_conformance.scenarios.topology import WEB, web_port

OPEN_SCENARIO = "catalogue-open"  # the open matrix every scenario starts from
OPEN_STEP = "0-no-policies"

Doc = dict[str, Any]
PolicyKey = tuple[str, str]  # logical namespace, name


@dataclass(frozen=True)
class InForce:
    """What the runner has put in force: policies (as rendered) and labels it changed."""

    policies: Mapping[PolicyKey, Doc] = field(default_factory=dict)
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def docs(self) -> list[Doc]:
        return list(self.policies.values())

    def with_policy(self, key: PolicyKey, doc: Doc) -> InForce:
        return InForce({**self.policies, key: doc}, self.labels)

    def without(self, key: PolicyKey) -> InForce:
        return InForce({k: v for k, v in self.policies.items() if k != key}, self.labels)

    def relabelled(self, target: str, labels: Mapping[str, str] | None) -> InForce:
        """``target``'s labels set (None: back to the topology's)."""
        rest = {k: v for k, v in self.labels.items() if k != target}
        return InForce(self.policies, rest if labels is None else {**rest, target: labels})


@dataclass(frozen=True)
class Change:
    """One change: how to make it on the cluster, and what it does to what is in force."""

    make: Callable[[], object]
    transform: Callable[[InForce], InForce]


class CatalogueRunner:
    def __init__(
        self,
        backend: Backend,
        layout: Layout,
        profile: CniProfile,
        options: RunOptions,
        run_id: str,
        name: str,
        progress: Progress,
        deviations: Deviations | None = None,
    ) -> None:
        self.layout = layout
        self.profile = profile
        self.progress = progress
        self.deviations = deviations
        self.deployment = Deployment(backend, layout, options, run_id, name, progress)
        self.probes = ProbeRunner(backend, options.probe)
        self.observer = Observer(self.deployment, self.probes, options)
        self.options = options
        self.results: list[StepResult] = []
        self.on_result: Callable[[StepResult], None] | None = None
        self.phases: dict[str, float] = {}
        self.errors: dict[str, ConformanceError] = {}  # scenario id -> why it could not run
        self._by_state: dict[tuple[str, str], StepResult] = {}
        self._deploy_error: ConformanceError | None = None
        self._started = False
        self._deployed = False
        self._in_force = InForce()
        self._last_observed: frozenset[Probe] = frozenset()  # the probes of the last state
        # protocol -> why it cannot be probed on this cluster (its control probes said so)
        self.unavailable: dict[str, str] = {}

    # --- deployment

    @property
    def topology_pods(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.layout.pods)

    def deploy(self) -> None:
        """Create the topology, prove every server listens on every port, and observe the open
        matrix."""
        if self._deploy_error is not None:
            raise self._deploy_error.with_traceback(None)
        if self._deployed:
            return
        self._started = True
        try:
            self.progress(f"{self.deployment.name}: deploying the catalogue's topology")
            self.phases.update(self.deployment.create())
            t0 = time.monotonic()
            self.probes.prove_listening(
                (pod.namespace, pod.name, port.port, port.protocol)
                for pod in self.deployment.pods.values()
                for port in self.layout.server_ports
            )
            self.phases["controls"] = time.monotonic() - t0
            self.unavailable = {
                protocol: NO_SCTP_KERNEL.format(detail=obs.detail)
                for protocol, obs in self.probes.unsupported.items()
            }
            for protocol, why in self.unavailable.items():
                self.progress(f"{self.deployment.name}: {protocol} probes skipped: {why}")
            baseline = self._observe(
                self._open_plan(), OPEN_SCENARIO, OPEN_STEP, None, dict(self.phases)
            )
            if not baseline.converged:
                raise StepSetupError(
                    "the catalogue's pods cannot reach each other on every served port before "
                    "any policy is applied, so no verdict would mean anything",
                    baseline,
                )
            self._deployed = True
        except ConformanceError as exc:
            self._deploy_error = exc
            raise

    def _open_plan(self) -> ScenarioPlan:
        """Every pod to every other on the first served port of each protocol, all allowed:
        the paths work (that every server listens on every port, the control probes prove).
        A protocol the node cannot carry is left out (its scenarios are skipped)."""
        first: dict[str, ServerPort] = {}
        for sp in self.layout.server_ports:
            if not protocol_skip_reason(sp.protocol, self.profile, self.unavailable):
                first.setdefault(sp.protocol, sp)
        probes = tuple(
            Probe(src, server_kind(sp.protocol).name, dst, sp.port, sp.protocol)
            for src in self.topology_pods
            for dst in self.topology_pods
            if src != dst
            for sp in first.values()
        )
        return ScenarioPlan(RunScenario(OPEN_SCENARIO, (), (), group=GROUP), self.profile, probes)

    def close(self) -> None:
        """Delete the deployment's namespaces (whatever state it got to); never raises."""
        if self._started:
            self.phases["destroy"] = self.deployment.destroy_quietly()

    # --- scenarios

    def skip_reason(self, scenario: Scenario) -> str | None:
        """Why the scenario cannot be probed on this cluster and CNI, or None: known once the
        topology is deployed and its control probes have run."""
        self.deploy()
        return skip_reason(scenario, self.profile, self.unavailable)

    def result(self, scenario_id: str, state_id: str) -> StepResult:
        """A state's observed matrix; its scenario is run on first use."""
        if scenario_id in self.errors:
            raise self.errors[scenario_id].with_traceback(None)
        if (scenario_id, state_id) not in self._by_state:
            self.run(BY_ID[scenario_id])
        return self._by_state[(scenario_id, state_id)]

    def run(self, scenario: Scenario) -> list[StepResult]:
        """Undo the previous scenario, then reach and observe each state in turn. The undoing
        and the first state's changes are one batch: nothing is waited for in between."""
        out = []
        try:
            self.deploy()
            # A cell starts from the verdict it last showed only if the last state probed it:
            # one probed before that (the open matrix) may have been denied since, unseen.
            last = self.observer.last_verdicts
            self.observer.last_verdicts = {
                p: v for p, v in last.items() if p in self._last_observed
            }
            changes = self._undo()
            for state in scenario.states:
                plan = state_plan(
                    scenario, state, self.profile, self.topology_pods, self.unavailable
                )
                if plan.skip_reason:
                    raise SetupError(f"{scenario.id}: {plan.skip_reason}")
                changes += [self._change(f"{scenario.id}/{state.id}", c) for c in state.changes]
                states = possible_states(
                    self._in_force,
                    [c.transform for c in changes],
                    lambda in_force, plan=plan: self._allowed(plan, in_force),
                )
                started = time.monotonic()
                for change in changes:
                    change.make()
                    self._in_force = change.transform(self._in_force)
                phases = {"apply": time.monotonic() - started}
                result = self._observe(plan, scenario.id, state.id, states, phases, started)
                self._by_state[(scenario.id, state.id)] = result
                out.append(result)
                changes = []
        except ConformanceError as exc:
            self.errors[scenario.id] = exc
            raise
        return out

    # --- changes

    def _allowed(self, plan: ScenarioPlan, in_force: InForce) -> dict[Probe, bool]:
        """What ``in_force`` allows for every probe of ``plan``; a probe of a pod that does
        not exist yet cannot be seen before the state: what the state ends in."""
        exists = self.deployment.pods
        known = [p for p in plan.probes if p.source in exists and p.target in exists]
        verdicts = oracle_verdicts(
            known, self.deployment, in_force.docs, plan.scenario.id, in_force.labels
        )
        out = {p: plan.allowed(p) for p in plan.probes}
        out.update({p: v.allowed for p, v in verdicts.items()})
        return out

    def _undo(self) -> list[Change]:
        """The changes back to the topology as deployed: the previous scenario's policies
        deleted, its labels restored, the pods it created deleted."""
        out = [self._delete_change(key) for key in self._in_force.policies]
        for target, now in self._in_force.labels.items():
            out.append(
                Change(
                    lambda t=target, now=now: self._restore_labels(t, now),
                    lambda f, t=target: f.relabelled(t, None),
                )
            )
        if self.deployment.created:
            out.append(Change(self.deployment.remove_created, lambda f: f))
        return out

    def _original_labels(self, target: str) -> dict[str, str]:
        """A pod's labels as the topology (or its creation) gave them; none for a namespace."""
        pods = (*self.layout.pods, *self.deployment.created.values())
        return next((dict(p.labels) for p in pods if p.key == target), {})

    def _restore_labels(self, target: str, now: Mapping[str, str]) -> None:
        was = self._original_labels(target)
        self.deployment.relabel(target, was, [k for k in now if k not in was])
        del self.deployment.labels_now[target]

    def _delete_change(self, key: PolicyKey) -> Change:
        def make() -> None:
            self.deployment.delete([self._in_force.policies[key]])

        return Change(make, lambda f: f.without(key))

    def _change(self, where: str, change: object) -> Change:
        """A change of a state, to make on the cluster and to model."""
        if isinstance(change, Apply | Update):
            meta = change.policy["metadata"]
            key = (meta["namespace"], meta["name"])
            doc = self.deployment.renderer.policy(
                render_addresses(change.policy, lambda pod: self.deployment.pods[pod].ip)
            )
            return Change(lambda: self.deployment.apply([doc]), lambda f: f.with_policy(key, doc))
        if isinstance(change, Delete):
            key = (change.namespace, change.name)
            if key not in self._in_force.policies:
                raise SetupError(f"{where}: {change}: no such policy in force")
            return self._delete_change(key)
        if isinstance(change, Label):
            target, set_, remove = change.target, dict(change.set), tuple(change.remove)

            def labelled(f: InForce) -> InForce:
                now = f.labels.get(target)
                now = self._original_labels(target) if now is None else now
                new = {k: v for k, v in now.items() if k not in remove}
                return f.relabelled(target, {**new, **set_})

            return Change(lambda: self.deployment.relabel(target, set_, remove), labelled)
        if isinstance(change, CreatePod):
            web = web_port(change.name)
            pod = LogicalPod(
                change.namespace,
                change.name,
                tuple(sorted(change.labels.items())),
                ports=(ServerPort(web.name or WEB, web.port, web.protocol),),
            )
            return Change(lambda: self.deployment.create_pod(pod), lambda f: f)
        raise SetupError(f"{where}: {change}: the catalogue applies policies, not manifests")

    def _observe(
        self,
        plan: ScenarioPlan,
        scenario_id: str,
        step: str,
        states: list[dict[Probe, bool]] | None,
        phases: Mapping[str, float],
        started: float | None = None,
    ) -> StepResult:
        applied = tuple(self._in_force.docs)
        view = oracle_view(plan, self.deployment, applied)
        result = self.observer.observe(
            plan,
            scenario=scenario_id,
            step=step,
            policies=applied,
            started=time.monotonic() if started is None else started,
            phases=phases,
            disagreements=view.disagreements,
            denied_by=view.denied_by,
            confirm_window=self.options.confirm_window,
            states=states,
            known=known_deviation(self.deviations, scenario_id),
        )
        if self.deviations is not None:
            result = with_deviations(result, self.deviations)
        self._last_observed = frozenset(plan.probes)
        self.results.append(result)
        if self.on_result is not None:
            self.on_result(result)
        return result
