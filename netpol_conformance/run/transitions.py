"""The states a cluster passes through while a change is made to it, and what each allows.

Objects are created, replaced and deleted one at a time (the API has no transaction), and an
enforcer may program each as it comes: applying an allow policy and a default deny to one pod
can open a flow, close it, and open it again. Those in-between states are real; a cell whose
history follows them in order is converging, not flapping (``run.convergence``). The oracle
says what each state allows, on the policies exactly as rendered for the deployment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netpol_conformance.policy.oracle import Oracle, Verdict
from netpol_conformance.policy.parse import parse_policies
from netpol_conformance.probe.kinds import kind_of
from netpol_conformance.probe.spec import Probe
from netpol_conformance.run.deploy import DNS_POD, Deployment

Doc = Mapping[str, Any]


def _key(doc: Doc) -> tuple[str, str]:
    meta = doc.get("metadata", {})
    return meta.get("namespace", ""), meta.get("name", "")


def states_applying(before: Sequence[Doc], docs: Sequence[Doc]) -> list[list[Doc]]:
    """The policies in force before ``docs`` are applied in order, and after each of them but
    the last (a policy of the same namespace and name replaces the one in force)."""
    current = {_key(d): d for d in before}
    states = [list(current.values())]
    for doc in docs[:-1]:
        current[_key(doc)] = doc
        states.append(list(current.values()))
    return states


def states_deleting(before: Sequence[Doc], docs: Sequence[Doc]) -> list[list[Doc]]:
    """The policies in force before ``docs`` are deleted in order, and after each but the last."""
    current = {_key(d): d for d in before}
    states = [list(current.values())]
    for doc in docs[:-1]:
        current.pop(_key(doc), None)
        states.append(list(current.values()))
    return states


def oracle_verdicts(
    probes: Sequence[Probe],
    deployment: Deployment,
    policies: Sequence[Doc],
    name: str = "state",
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[Probe, Verdict]:
    """The oracle's verdict on every probe under ``policies``, on the deployment's real names
    (with ``labels``: under those labels instead of the ones set now)."""
    parsed = parse_policies([(f"{name}[{i}]", dict(d)) for i, d in enumerate(policies)])
    oracle = Oracle(deployment.topology(labels), parsed)
    out = {}
    for p in probes:
        src = deployment.rendered(p.source)
        if kind_of(p).to_cluster_dns:
            out[p] = oracle.explain(src, DNS_POD, 53, p.protocol)
        else:
            out[p] = oracle.explain(src, deployment.rendered(p.target), p.port, p.protocol)
    return out


def allowed_in(
    probes: Sequence[Probe], deployment: Deployment, states: Sequence[Sequence[Doc]]
) -> list[Mapping[Probe, bool]]:
    """For each state, whether its policies allow each probe."""
    return [
        {p: v.allowed for p, v in oracle_verdicts(probes, deployment, s).items()} for s in states
    ]
