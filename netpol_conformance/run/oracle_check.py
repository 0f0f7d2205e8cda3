"""The oracle, run on the policies exactly as applied to the deployment's real addresses: a
check of the suite itself (it must agree with the hand-written table of the scenario), and
which direction denies each probe (so which node's enforcer must stop it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netpol_conformance.plan.plan import ScenarioPlan
from netpol_conformance.policy.oracle import Verdict
from netpol_conformance.probe.spec import Probe
from netpol_conformance.run.deploy import Deployment
from netpol_conformance.run.transitions import oracle_verdicts


@dataclass(frozen=True)
class OracleView:
    disagreements: tuple[str, ...]  # where the table and the oracle disagree, with its reason
    denied_by: Mapping[Probe, tuple[str, ...]]  # egress and/or ingress, for each denied probe


def oracle_view(
    plan: ScenarioPlan, deployment: Deployment, applied: Sequence[Mapping[str, Any]]
) -> OracleView:
    verdicts = oracle_verdicts(plan.probes, deployment, applied, plan.scenario.id)
    return OracleView(_disagreements(plan, verdicts), {p: denying(v) for p, v in verdicts.items()})


def denying(verdict: Verdict) -> tuple[str, ...]:
    """The directions that deny a connection: egress, ingress, both, or none."""
    return tuple(d.direction.lower() for d in (verdict.egress, verdict.ingress) if not d.allowed)


def table_disagreements(
    plan: ScenarioPlan, deployment: Deployment, applied: Sequence[Mapping[str, Any]]
) -> tuple[str, ...]:
    """Probes where the table and the oracle disagree, each with the oracle's reason."""
    return oracle_view(plan, deployment, applied).disagreements


def _disagreements(plan: ScenarioPlan, verdicts: Mapping[Probe, Verdict]) -> tuple[str, ...]:
    out = []
    for p in plan.probes:
        table = plan.allowed(p)
        if verdicts[p].allowed != table:
            out.append(
                f"{p.label}: table says {'allowed' if table else 'denied'}, "
                f"oracle says {verdicts[p].reason}"
            )
    return tuple(out)
