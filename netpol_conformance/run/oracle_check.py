"""A check of the suite itself: the oracle, run on the policies exactly as applied to the
deployment's real addresses, must agree with the hand-written table of the scenario."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netpol_conformance.plan.plan import ScenarioPlan
from netpol_conformance.run.deploy import Deployment
from netpol_conformance.run.transitions import oracle_verdicts


def table_disagreements(
    plan: ScenarioPlan, deployment: Deployment, applied: Sequence[Mapping[str, Any]]
) -> tuple[str, ...]:
    """Probes where the table and the oracle disagree, each with the oracle's reason."""
    verdicts = oracle_verdicts(plan.probes, deployment, applied, plan.scenario.id)
    out = []
    for p in plan.probes:
        table = plan.allowed(p)
        if verdicts[p].allowed != table:
            out.append(
                f"{p.label}: table says {'allowed' if table else 'denied'}, "
                f"oracle says {verdicts[p].reason}"
            )
    return tuple(out)
