"""A check of the suite itself: the oracle, run on the policies exactly as applied to the
deployment's real addresses, must agree with the hand-written table of the scenario."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netpol_conformance.plan.plan import ScenarioPlan
from netpol_conformance.policy.oracle import Oracle
from netpol_conformance.policy.parse import parse_policies
from netpol_conformance.probe.spec import DNS
from netpol_conformance.run.deploy import DNS_POD, Deployment


def table_disagreements(
    plan: ScenarioPlan, deployment: Deployment, applied: Sequence[Mapping[str, Any]]
) -> tuple[str, ...]:
    """Probes where the table and the oracle disagree, each with the oracle's reason."""
    name = plan.scenario.id
    policies = parse_policies([(f"{name}[{i}]", dict(d)) for i, d in enumerate(applied)])
    oracle = Oracle(deployment.topology(), policies)
    out = []
    for p in plan.probes:
        src = deployment.rendered(p.source)
        if p.kind == DNS:
            verdict = oracle.explain(src, DNS_POD, 53, "UDP")
        else:
            verdict = oracle.explain(src, deployment.rendered(p.target), p.port, p.protocol)
        table = plan.allowed(p)
        if verdict.allowed != table:
            out.append(
                f"{p.label}: table says {'allowed' if table else 'denied'}, "
                f"oracle says {verdict.reason}"
            )
    return tuple(out)
