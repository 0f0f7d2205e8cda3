"""Observe a scenario's probe matrix on a deployment until it converges, as a StepResult.

The whole matrix is polled until every probe meets its expectation in two consecutive polls
(bounded by the enforce timeout), then confirmed, and each probe's history is judged for
flapping against the states the change passed through (``run.convergence``), starting from
the verdict the probe last showed before the change. A refusal meets an expected refusal only
when a control probe from inside the destination shows the server listening on that port;
that evidence is kept on the probe's record.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from netpol_conformance.plan.judge import judge, needs_control
from netpol_conformance.plan.plan import ScenarioPlan
from netpol_conformance.probe.kinds import kind_of
from netpol_conformance.probe.outcome import ALLOW, DENY, Observation, Outcome, verdict_of
from netpol_conformance.probe.runner import ProbeRunner
from netpol_conformance.probe.spec import Probe
from netpol_conformance.results.records import ProbeRecord, StepResult
from netpol_conformance.run.convergence import Convergence, confirm, converge
from netpol_conformance.run.deploy import Deployment
from netpol_conformance.run.options import RunOptions


class Observer:
    def __init__(self, deployment: Deployment, runner: ProbeRunner, options: RunOptions) -> None:
        self.deployment = deployment
        self.runner = runner
        self.options = options
        # The verdict each probe last showed: where the next change starts from.
        self.last_verdicts: dict[Probe, str] = {}

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
        states: Sequence[Mapping[Probe, bool]] | None = None,
        known: Callable[[Probe, Observation], bool] | None = None,
        denied_by: Mapping[Probe, tuple[str, ...]] | None = None,
    ) -> StepResult:
        """Poll ``plan``'s matrix from ``started`` (the change) until it converges or times
        out, then (with a ``confirm_window``) confirm it, and judge every history.

        ``states`` says, for each state the change passed through before the new one (the
        state before it first), which probes its policies allow; None when nothing is known
        of the state before (a new deployment). ``known`` says whether a probe's observation
        is a listed expected deviation of the CNI: a matrix settled on those for twice the
        confirmation window stops before the enforce timeout, unconverged.
        """
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
            known=known if confirm_window else None,  # a transition waits for its deadline
            settled_for=2 * confirm_window,
        )
        t1 = time.monotonic()
        if state.settled_on_known:
            self.deployment.progress(
                f"{self.deployment.name}: {step}: settled on the CNI's expected deviations "
                f"after {t1 - t0:.1f} s; not waiting for the enforce timeout"
            )
        if confirm_window:
            confirm(state, poll, verdicts, confirm_window, self.options.poll_interval)
        enforces = plan.profile.enforces
        final = {p: _verdict(plan.allowed(p), enforces) for p in plan.expected}
        state.judge_histories(final, self._paths(plan, states, enforces))
        self._remember(state)
        budget = self.options.max_time_to_enforce
        records = tuple(
            _with_budget(
                ProbeRecord(
                    probe=p,
                    expected=exp,
                    observed=_deciding(state, p),
                    met=state.met(p),
                    history=tuple(state.history(p)),
                    command=self.runner.command(targets[p]),
                    allowed=plan.allowed(p),
                    denied_by=(denied_by or {}).get(p, ()),
                    evidence=_evidence_text(p, evidence),
                    listening=evidence.get(p),
                    path=self.deployment.path(p),
                    flap=_flap_text(state, p, final[p]),
                    enforced_after=_enforced_after(state, p),
                ),
                budget,
                step,
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
            poll_times=state.poll_times,
            phases={
                **(phases or {}),
                "converge": t1 - t0,
                **({"confirm": time.monotonic() - t1} if confirm_window else {}),
            },
            disagreements=disagreements,
        )

    def _paths(
        self,
        plan: ScenarioPlan,
        states: Sequence[Mapping[Probe, bool]] | None,
        enforces: bool,
    ) -> dict[Probe, list[str]] | None:
        """Each probe's verdicts through the change: as last observed, then as the state
        before allows, then each state in between. The last observation may not be what the
        dataplane held: a poll that caught a moment's opening, or a state that had not
        converged (its dataplane may still reach it before the change lands)."""
        if states is None:
            return None
        paths = {}
        for p in plan.expected:
            walk = [_verdict(s[p], enforces) for s in states]
            if walk and p in self.last_verdicts and self.last_verdicts[p] != walk[0]:
                walk.insert(0, self.last_verdicts[p])
            paths[p] = walk
        return paths

    def _remember(self, state: Convergence[Probe]) -> None:
        for poll in state.polls:
            for p, observation in poll.items():
                if (verdict := verdict_of(observation.outcome)) is not None:
                    self.last_verdicts[p] = verdict

    def remember_open_answers(self, result: StepResult) -> None:
        """Before any policy: which destinations answered. The control evidence for refusals
        from hosts we cannot exec into (the external host)."""
        self.deployment.answered_before_policies = {
            (r.probe.target, r.probe.port)
            for r in result.probes
            if not kind_of(r.probe).to_cluster_dns
            and r.observed
            and r.observed.outcome is Outcome.CONNECTED
        }


def _verdict(allowed: bool, enforces: bool) -> str:
    return ALLOW if allowed or not enforces else DENY


def _enforced_after(state: Convergence[Probe], probe: Probe) -> float | None:
    since = state.met_since(probe)
    return None if since is None else round(state.poll_times[since], 3)


def _with_budget(record: ProbeRecord, budget: float | None, step: str) -> ProbeRecord:
    """A probe that met its expectation only later than the budget fails, saying so."""
    after = record.enforced_after
    if budget is None or not record.met or after is None or after <= budget:
        return record
    late = (
        f"{step}: as expected only from {after:.1f} s after the change, more than "
        f"--max-time-to-enforce {budget:g} s"
    )
    return dataclasses.replace(record, met=False, late=late)


def _deciding(state: Convergence[Probe], probe: Probe) -> Observation | None:
    index = state.deciding(probe)
    return None if index is None else state.polls[index].get(probe)


_WORDS = {ALLOW: "allowed", DENY: "denied"}


def _flap_text(state: Convergence[Probe], probe: Probe, final: str) -> str:
    """Why a flapping cell is one: where its history broke, and when."""
    at = state.flapped.get(probe)
    if at is None:
        return ""
    times = state.poll_times
    observed = state.polls[at][probe]
    converged = state.match_index is not None and at >= state.match_index
    where = f"poll {at + 1} of {len(state.polls)}, "
    where += "after the matrix converged" if converged else "before the matrix converged"
    earlier = [
        (times[i], verdict_of(poll[probe].outcome))
        for i, poll in enumerate(state.polls[:at])
        if probe in poll and verdict_of(poll[probe].outcome) is not None
    ]
    before = f", after {_WORDS[earlier[-1][1]]} at +{earlier[-1][0]:.1f}s" if earlier else ""
    return (
        f"{observed.outcome.value} at +{times[at]:.1f}s ({where}){before}: the change ends "
        f"{_WORDS[final]}, and no order of the states it passes through explains this"
    )


def _evidence_text(probe: Probe, evidence: Mapping[Probe, bool]) -> str:
    if probe not in evidence:
        return ""
    where = f"{probe.target}:{probe.port}"
    return (
        f"control probe: {where} accepts connections from inside the destination"
        if evidence[probe]
        else f"control probe: nothing accepts on {where} inside the destination"
    )
