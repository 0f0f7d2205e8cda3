"""Observe a scenario's probe matrix on a deployment until it converges, as a StepResult.

The whole matrix is polled until every probe meets its expectation in two consecutive polls
(bounded by the enforce timeout). A refusal meets an expected refusal only when a control
probe from inside the destination shows the server listening on that port; that evidence is
kept on the probe's record.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from netpol_conformance.plan.judge import judge, needs_control
from netpol_conformance.plan.plan import ScenarioPlan
from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.probe.runner import ProbeRunner
from netpol_conformance.probe.spec import TCP, UDP, Probe
from netpol_conformance.run.convergence import Convergence, confirm, converge
from netpol_conformance.run.deploy import Deployment
from netpol_conformance.run.options import RunOptions
from netpol_conformance.run.records import ProbeRecord, StepResult


class Observer:
    def __init__(self, deployment: Deployment, runner: ProbeRunner, options: RunOptions) -> None:
        self.deployment = deployment
        self.runner = runner
        self.options = options

    def listening(self, probe: Probe) -> bool:
        """Control evidence that a refusal is a deny: the server does accept on that port."""
        dst = self.deployment.pods.get(probe.target)
        if dst is not None:
            return self.runner.listening(dst.namespace, dst.name, probe.port, probe.protocol)
        # No pod to exec in: the host answered on that port before any policy.
        return (probe.target, probe.port) in self.deployment.answered_before_policies

    def observe(
        self,
        plan: ScenarioPlan,
        *,
        scenario: str,
        step: str,
        policies: tuple[Mapping[str, Any], ...],
        started: float,
        phases: Mapping[str, float] | None = None,
        disagreements: tuple[str, ...] = (),
        confirm_window: float = 0.0,
    ) -> StepResult:
        """Poll ``plan``'s matrix from ``started`` (the apply) until it converges or times out,
        then (with a ``confirm_window``) watch it for flapping."""
        targets = {p: self.deployment.target(p) for p in plan.probes}
        evidence: dict[Probe, bool] = {}

        def verdicts(observed: Mapping[Probe, Observation]) -> dict[Probe, bool]:
            for p, exp in plan.expected.items():
                if needs_control(exp, observed[p]) and not evidence.get(p):
                    evidence[p] = self.listening(p)
            return judge(plan.expected, observed, evidence, self.options.strict_deny_style)

        def note(state: Convergence[Probe]) -> None:
            bad = sum(1 for ok in state.verdicts[-1].values() if not ok)
            if bad and len(state.polls) % 5 == 0:
                self.deployment.progress(
                    f"{self.deployment.name}: {step}: poll {len(state.polls)}, "
                    f"{bad} probes not yet as expected"
                )

        t0 = time.monotonic()

        def poll() -> Mapping[Probe, Observation]:
            return self.runner.run(list(targets.values()))

        state = converge(
            poll,
            verdicts,
            self.options.enforce_timeout,
            self.options.poll_interval,
            started=started,
            on_poll=note,
        )
        t1 = time.monotonic()
        if confirm_window:
            confirm(state, poll, verdicts, confirm_window, self.options.poll_interval)
        records = tuple(
            ProbeRecord(
                probe=p,
                expected=exp,
                observed=state.last.get(p),
                met=state.met(p),
                history=tuple(state.history(p)),
                command=self.runner.command(targets[p]),
                allowed=plan.allowed(p),
                evidence=_evidence_text(p, evidence),
                path=self.deployment.path(p),
            )
            for p, exp in plan.expected.items()
        )
        return StepResult(
            scenario=scenario,
            step=step,
            policies=policies,
            probes=records,
            converged=state.converged,
            polls=len(state.polls),
            time_to_enforce=state.time_to_enforce,
            flapping=tuple(p.label for p in state.flapping),
            phases={
                **(phases or {}),
                "converge": t1 - t0,
                **({"confirm": time.monotonic() - t1} if confirm_window else {}),
            },
            disagreements=disagreements,
        )

    def remember_open_answers(self, result: StepResult) -> None:
        """Before any policy: which destinations answered. The control evidence for refusals
        from hosts we cannot exec into (the external host)."""
        self.deployment.answered_before_policies = {
            (r.probe.target, r.probe.port)
            for r in result.probes
            if r.probe.kind in (TCP, UDP) and r.observed and r.observed.outcome is Outcome.CONNECTED
        }


def _evidence_text(probe: Probe, evidence: Mapping[Probe, bool]) -> str:
    if probe not in evidence:
        return ""
    where = f"{probe.target}:{probe.port}"
    return (
        f"control probe: {where} accepts connections from inside the destination"
        if evidence[probe]
        else f"control probe: nothing accepts on {where} inside the destination"
    )
