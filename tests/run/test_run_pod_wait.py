"""Waiting for the test pods: a registry's pull rate limit ends the wait at once, with the fix."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import pytest

from netpol_conformance.cluster.base import PodState
from netpol_conformance.cni import profile
from netpol_conformance.errors import SetupError
from netpol_conformance.plan.layout import load_layout
from netpol_conformance.run.deploy import Deployment
from netpol_conformance.run.options import RunOptions
from netpol_conformance.sim.cluster import SimulatedCluster

LIMITED = (
    'server: ErrImagePull (failed to pull and unpack image "docker.io/library/nginx:1.27.5": '
    "429 Too Many Requests - Server message: toomanyrequests: You have reached your "
    "unauthenticated pull rate limit.)"
)


class PullLimited(SimulatedCluster):
    """Pods are created, but those named in ``limited`` never pull their image."""

    def __init__(self, limited: set[str], message: str = LIMITED) -> None:
        super().__init__(profile("calico"))
        self.limited, self.message = limited, message

    def pods(self, namespaces: Sequence[str]) -> list[PodState]:
        return [
            dataclasses.replace(p, ready=False, ip="", phase="Pending", message=self.message)
            if p.name in self.limited
            else p
            for p in super().pods(namespaces)
        ]


def deployment(backend: SimulatedCluster, timeout: float) -> Deployment:
    options = RunOptions(pod_ready_timeout=timeout, poll_interval=0.01)
    return Deployment(backend, load_layout(), options, "run", "t", lambda _: None)


def test_a_rate_limited_pull_stops_the_wait_at_once_with_the_fix() -> None:
    d = deployment(PullLimited({"db"}), timeout=60.0)
    t0 = time.monotonic()
    with pytest.raises(SetupError) as caught:
        d.create()
    assert time.monotonic() - t0 < 10  # not the 60 s pod timeout
    message = str(caught.value)
    assert "/db cannot pull docker.io/library/nginx:1.27.5" in message
    assert "rate limit" in message and "--server-image/--probe-image" in message
    assert "kind load" not in message  # not a kind cluster: the registry-side fixes
    d.destroy()


def test_on_kind_the_fix_loads_the_images_into_that_cluster() -> None:
    backend = PullLimited({"web"})
    backend.info = dataclasses.replace(backend.info, backend="kind", context="kind-npc")
    with pytest.raises(SetupError, match="kind load docker-image IMAGE --name npc"):
        deployment(backend, timeout=60.0).create()


def test_other_pull_errors_wait_for_the_pod_timeout_and_name_the_pods() -> None:
    not_found = 'server: ErrImagePull (rpc error: code = NotFound desc = "nginx:9.9" not found)'
    d = deployment(PullLimited({"db"}, not_found), timeout=1.0)
    t0 = time.monotonic()
    with pytest.raises(SetupError, match=r"pods not ready after 1s: .*/db .*NotFound"):
        d.create()
    assert time.monotonic() - t0 >= 1.0
    d.destroy()
