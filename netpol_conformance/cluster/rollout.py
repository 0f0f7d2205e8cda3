"""When a DaemonSet's rollout is complete: the controller saw the latest spec, and every scheduled
pod is updated, Ready and available (and, when the pods are read too, no old pod is still
terminating and every pod is Ready). Used by the kind wait after installing a CNI and by the
upgrade gate's watch. The decision is pure; the two views read the Kubernetes client's objects
by attribute, without importing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DaemonSetView:
    generation: int
    observed_generation: int
    desired: int
    updated: int
    ready: int
    available: int
    image: str = ""


@dataclass(frozen=True)
class PodView:
    name: str
    ready: bool
    restarts: int
    terminating: bool = False
    image: str = ""


def rollout_state(
    ds: DaemonSetView | None, pods: Sequence[PodView] | None = None
) -> tuple[bool, str]:
    """(done, how it stands) for a DaemonSet and, when they are given, its pods."""
    if ds is None:
        return False, "the DaemonSet does not exist"
    text = (
        f"{ds.updated}/{ds.desired} updated, {ds.ready}/{ds.desired} ready, "
        f"{ds.available}/{ds.desired} available"
    )
    if ds.observed_generation < ds.generation:
        return False, f"the controller has not seen generation {ds.generation} yet; {text}"
    if ds.desired == 0 or not ds.updated == ds.ready == ds.available == ds.desired:
        return False, text
    if pods is None:
        return True, text
    live = [p for p in pods if not p.terminating]
    waiting = [p.name for p in live if not p.ready]
    if len(pods) != len(live) or len(live) != ds.desired or waiting:
        gone = len(pods) - len(live)
        return False, f"{text}; pods: {len(live)} running, {gone} terminating, not Ready: " + (
            ", ".join(waiting) or "none"
        )
    return True, text


def daemonset_view(ds: Any) -> DaemonSetView:
    s = ds.status
    containers = ds.spec.template.spec.containers or []
    return DaemonSetView(
        generation=ds.metadata.generation or 0,
        observed_generation=s.observed_generation or 0,
        desired=s.desired_number_scheduled or 0,
        updated=s.updated_number_scheduled or 0,
        ready=s.number_ready or 0,
        available=s.number_available or 0,
        image=containers[0].image if containers else "",
    )


def pod_view(pod: Any) -> PodView:
    statuses = pod.status.container_statuses or []
    containers = pod.spec.containers or []
    return PodView(
        name=pod.metadata.name,
        ready=bool(statuses) and all(s.ready for s in statuses),
        restarts=sum(s.restart_count or 0 for s in statuses),
        terminating=pod.metadata.deletion_timestamp is not None,
        image=containers[0].image if containers else "",
    )
