"""Small upgrade records for the tests of the gate, the document and the renderers."""

from __future__ import annotations

import dataclasses

from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.results.upgrade import (
    CNI_READY,
    DOWN,
    PROBING_STARTED,
    PROBING_STOPPED,
    UP,
    UPGRADE_FINISHED,
    UPGRADE_STARTED,
    AgentEvent,
    HeldConnectionRecord,
    Limits,
    LiveProbeRecord,
    Segment,
    UpgradeRecord,
    Window,
)


def probe(
    label: str = "frontend/web->backend/db:5432/TCP",
    role: str = UP,
    windows: tuple[Window, ...] = (),
    leaks: tuple[float, ...] = (),
    gated: bool = True,
) -> LiveProbeRecord:
    up = role == UP
    bad = Outcome.TIMEOUT if up else Outcome.CONNECTED
    good = Outcome.CONNECTED if up else Outcome.REFUSED
    segments = [Segment(-5.0, -0.5, good, 10)]
    for w in windows:
        segments.append(Segment(w.start, w.end - 0.5, bad, w.samples))
    segments.append(Segment(segments[-1].end + 0.5, 20.0, good, 20))
    source, _, rest = label.partition("->")
    target = rest.rpartition(":")[0]
    return LiveProbeRecord(
        label=label,
        source=source,
        target=target,
        port=5432,
        protocol="TCP",
        kind="tcp",
        allowed=up,
        expected=good,
        role=role,
        gated=gated,
        path="cross-node",
        samples=40,
        segments=tuple(segments),
        windows=windows,
        leaks=leaks,
    )


def leak(
    label: str = "backend/cache->backend/db:80/TCP",
    gated: bool = True,
    enforced_on: tuple[str, ...] = (),
) -> LiveProbeRecord:
    record = probe(label, DOWN, (Window(0.2, 1.2, 3, "connected"),), (0.2, 0.7, 1.2), gated)
    return dataclasses.replace(record, enforced_on=enforced_on)


def connection(
    broken: bool = False, stalls: tuple[Window, ...] = (), reason: str = ""
) -> HeldConnectionRecord:
    return HeldConnectionRecord(
        "frontend/web->backend/db:5432/TCP",
        "frontend/web",
        "backend/db",
        5432,
        opened=-4.8,
        round_trips=50,
        last=19.9,
        broken=broken,
        reason=reason,
        stalls=stalls,
        path="cross-node",
    )


def upgrade(
    probes: tuple[LiveProbeRecord, ...] = (),
    connections: tuple[HeldConnectionRecord, ...] = (),
    exit_code: int | None = 0,
    ready: bool = True,
    reasons: tuple[str, ...] = (),
    command_outcome: str = "",
) -> UpgradeRecord:
    return UpgradeRecord(
        command_outcome=command_outcome,
        epoch="2026-11-25T20:33:01.652Z",
        upgrade_command="scripts/local-cluster cni restart",
        exit_code=exit_code,
        ready_check="`scripts/local-cluster status` exits 0",
        ready=ready,
        interval=0.5,
        settle=15.0,
        limits=Limits(new=2.0, established=2.0),
        phases={
            PROBING_STARTED: -5.0,
            UPGRADE_STARTED: 0.0,
            UPGRADE_FINISHED: 0.62,
            CNI_READY: 1.1,
            PROBING_STOPPED: 20.0,
        },
        probes=probes or (probe(), probe("backend/cache->backend/db:80/TCP", DOWN)),
        connections=connections or (connection(),),
        events=(
            AgentEvent(0.01, "kube-router", "stopping", "upgrade command"),
            AgentEvent(0.4, "kube-router", "ready", "upgrade command"),
        ),
        cni_version_before="v2.1.0",
        cni_version_after="v2.1.0",
        reasons=reasons,
    )
