"""The ``upgrade`` section of a results document (since schema 1.2), both ways.

Written by ``upgrade-check`` into the results file of the suite's run after the upgrade; read
back by ``report`` and ``compare``. Times are seconds from the upgrade command's start,
rounded to the millisecond.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.results.upgrade import (
    AgentEvent,
    HeldConnectionRecord,
    Limits,
    LiveProbeRecord,
    Segment,
    UpgradeRecord,
    Window,
)


def _t(value: float) -> float:
    return round(value, 3)


def _window(w: Window) -> dict[str, Any]:
    return {
        "start": _t(w.start),
        "end": _t(w.end),
        "seconds": _t(w.seconds),
        "samples": w.samples,
        "observed": w.observed,
        "ended": w.ended,
    }


def _probe(p: LiveProbeRecord) -> dict[str, Any]:
    return {
        "label": p.label,
        "from": p.source,
        "to": p.target,
        "port": p.port,
        "protocol": p.protocol,
        "kind": p.kind,
        "path": p.path,
        "allowed": p.allowed,
        "expected": p.expected.value,
        "role": p.role,
        "gated": p.gated,
        "samples": p.samples,
        "unobserved": p.unobserved,
        "longest": _t(p.longest),
        "segments": [
            {
                "start": _t(s.start),
                "end": _t(s.end),
                "category": s.category.value,
                "samples": s.samples,
            }
            for s in p.segments
        ],
        "windows": [_window(w) for w in p.windows],
        "leaks": [_t(t) for t in p.leaks],
    }


def _connection(c: HeldConnectionRecord) -> dict[str, Any]:
    return {
        "label": c.label,
        "from": c.source,
        "to": c.target,
        "port": c.port,
        "path": c.path,
        "opened": _t(c.opened),
        "round_trips": c.round_trips,
        "last": None if c.last is None else _t(c.last),
        "broken": c.broken,
        "reason": c.reason,
        "longest": _t(c.longest),
        "stalls": [_window(w) for w in c.stalls],
    }


def upgrade_document(u: UpgradeRecord) -> dict[str, Any]:
    return {
        "epoch": u.epoch,
        "upgrade_command": u.upgrade_command,
        "exit_code": u.exit_code,
        "command_outcome": u.command_outcome,
        "ready_check": u.ready_check,
        "ready": u.ready,
        "interval": u.interval,
        "settle": u.settle,
        "limits": {"new": u.limits.new, "established": u.limits.established},
        "phases": {k: _t(v) for k, v in u.phases.items()},
        "cni_version_before": u.cni_version_before,
        "cni_version_after": u.cni_version_after,
        "notes": list(u.notes),
        "passed": u.passed,
        "reasons": list(u.reasons),
        "probes": [_probe(p) for p in u.probes],
        "connections": [_connection(c) for c in u.connections],
        "events": [
            {"at": _t(e.at), "agent": e.agent, "event": e.event, "origin": e.origin}
            for e in u.events
        ],
    }


def _windows(docs: list[Mapping[str, Any]]) -> tuple[Window, ...]:
    return tuple(
        Window(w["start"], w["end"], w["samples"], w["observed"], w["ended"]) for w in docs
    )


def upgrade_from_document(doc: Mapping[str, Any]) -> UpgradeRecord:
    return UpgradeRecord(
        epoch=doc["epoch"],
        upgrade_command=doc["upgrade_command"],
        exit_code=doc["exit_code"],
        command_outcome=doc.get("command_outcome", ""),  # 2.0
        ready_check=doc["ready_check"],
        ready=doc["ready"],
        interval=doc["interval"],
        settle=doc["settle"],
        limits=Limits(doc["limits"]["new"], doc["limits"]["established"]),
        phases=dict(doc["phases"]),
        cni_version_before=doc["cni_version_before"],
        cni_version_after=doc["cni_version_after"],
        notes=tuple(doc["notes"]),
        reasons=tuple(doc["reasons"]),
        probes=tuple(
            LiveProbeRecord(
                label=p["label"],
                source=p["from"],
                target=p["to"],
                port=p["port"],
                protocol=p["protocol"],
                kind=p["kind"],
                allowed=p["allowed"],
                expected=Outcome(p["expected"]),
                role=p["role"],
                gated=p["gated"],
                path=p["path"],
                samples=p["samples"],
                unobserved=p["unobserved"],
                segments=tuple(
                    Segment(s["start"], s["end"], Outcome(s["category"]), s["samples"])
                    for s in p["segments"]
                ),
                windows=_windows(p["windows"]),
                leaks=tuple(p["leaks"]),
            )
            for p in doc["probes"]
        ),
        connections=tuple(
            HeldConnectionRecord(
                label=c["label"],
                source=c["from"],
                target=c["to"],
                port=c["port"],
                opened=c["opened"],
                round_trips=c["round_trips"],
                last=c["last"],
                broken=c["broken"],
                reason=c["reason"],
                stalls=_windows(c["stalls"]),
                path=c["path"],
            )
            for c in doc["connections"]
        ),
        events=tuple(
            AgentEvent(e["at"], e["agent"], e["event"], e["origin"]) for e in doc["events"]
        ),
    )
