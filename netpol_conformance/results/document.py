"""A run as the results document: plain JSON values, versioned, one per run.

The document is the only thing the suite keeps of a run. Its shape is described by the JSON
Schema shipped beside this module (``results.schema.json``), and its version follows one rule:
a minor version only adds optional fields, a major version is anything else. A reader accepts
every minor version of the majors it knows (see ``results.load``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from netpol_conformance.plan.judge import deny_styles
from netpol_conformance.probe.outcome import Observation
from netpol_conformance.results.upgrade_document import upgrade_document
from netpol_conformance.results.records import (
    ClusterRecord,
    CniRecord,
    ProbeCounts,
    ProbeRecord,
    RunRecord,
    StepResult,
    TestRecord,
)

FORMAT = "netpol-conformance/results"
SCHEMA_MAJOR = 2
SCHEMA_MINOR = 0
# 1.1: steps carry deny_style; 1.2: the optional upgrade section. 2.0: the status incomplete
# (a worker died) with the run's lost scenarios; steps carry poll_times, probes their flap and
# the control probe's answer (listening), options the selection and the verdict options.
READS = (1, 2)  # the majors this version reads: 1.x files lack only fields 2.0 added
SCHEMA_VERSION = f"{SCHEMA_MAJOR}.{SCHEMA_MINOR}"


def observation_document(observation: Observation | None) -> dict[str, str] | None:
    if observation is None:
        return None
    return {"category": observation.outcome.value, "detail": observation.detail}


def probe_document(record: ProbeRecord) -> dict[str, Any]:
    p = record.probe
    return {
        "label": p.label,
        "from": p.source,
        "to": p.target,
        "port": p.port,
        "protocol": p.protocol,
        "kind": p.kind,
        "name": p.name,
        "path": record.path,
        "expected": record.expected.value,
        "observed": observation_document(record.observed),
        "met": record.met,
        "deviation": record.deviation,
        "evidence": record.evidence,
        "listening": record.listening,
        "attempts": record.attempts,
        "history": [observation_document(o) for o in record.history],
        "command": record.command,
        "flap": record.flap,
        "enforced_after": record.enforced_after,
        "late": record.late,
    }


def step_document(step: StepResult) -> dict[str, Any]:
    return {
        "scenario": step.scenario,
        "step": step.step,
        "converged": step.converged,
        "polls": step.polls,
        "time_to_enforce": _plain(step.time_to_enforce),
        "phases": _plain(step.phases),
        "flapping": list(step.flapping),
        "poll_times": [round(t, 3) for t in step.poll_times],
        "deny_style": dict(deny_styles((r.expected, r.observed) for r in step.probes)),
        "policies": [_plain(p) for p in step.policies],
        "probes": [probe_document(p) for p in step.probes],
    }


def cluster_document(cluster: ClusterRecord) -> dict[str, Any]:
    return {
        "kind": cluster.kind,
        "kubernetes_version": cluster.kubernetes_version,
        "context": cluster.context,
        "nodes": [{"name": n.name, "pods": list(n.pods)} for n in cluster.nodes],
    }


def cni_document(cni: CniRecord) -> dict[str, Any]:
    return {
        "name": cni.name,
        "version": cni.version,
        "enforces": cni.enforces,
        "deny_style": cni.deny_style,
    }


def test_document(test: TestRecord) -> dict[str, Any]:
    return {
        "nodeid": test.nodeid,
        "outcome": test.outcome,
        "duration": test.duration,
        "scenario": test.scenario,
        "message": test.message,
        "properties": _plain(test.properties),
    }


def summary_document(run: RunRecord) -> dict[str, Any]:
    """Counts for a quick look (`jq .summary`); readers recompute them from the steps."""
    probes = [p for s in run.steps for p in s.probes]
    counts = ProbeCounts.of(probes)
    return {
        "steps": len(run.steps),
        "probes": len(probes),
        "met": counts.met,
        "not_met": counts.failed,
        "deviations": counts.deviations,
        "setup_errors": len(run.setup_errors),
        "tests": dict(sorted(Counter(t.outcome for t in run.tests).items())),
    }


def to_document(run: RunRecord) -> dict[str, Any]:
    """The results document of a run, as JSON-ready values (``json.dumps`` takes it as is)."""
    document: dict[str, Any] = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "suite_version": run.suite_version,
        "started": run.started,
        "finished": run.finished,
        "status": run.status,
        "error": run.error,
        "options": _plain(run.options),
        "cluster": cluster_document(run.cluster),
        "cni": cni_document(run.cni),
        "summary": summary_document(run),
        "steps": [step_document(s) for s in run.steps],
        "setup_errors": [{"scenario": k, "error": v} for k, v in run.setup_errors.items()],
        "lost": [{"scenario": k, "error": v} for k, v in run.lost.items()],
        "tests": [test_document(t) for t in run.tests],
    }
    if run.upgrade is not None:
        document["upgrade"] = upgrade_document(run.upgrade)
    return document


def _plain(value: Any) -> Any:
    """A deep copy made of JSON types only; anything else (a date in a YAML policy) as text."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
