"""Breaker 5: the readiness wait survives API errors, times every read, and says where it is."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from kubernetes.client.rest import ApiException
from urllib3.exceptions import MaxRetryError, NewConnectionError

from netpol_conformance.cluster.kind.commands import Heartbeat
from netpol_conformance.cluster.kind.ready import (
    READ_TIMEOUT,
    NotYet,
    Rollout,
    kube_reader,
    wait_until_ready,
)
from netpol_conformance.cni import PROFILES
from netpol_conformance.errors import SetupError

CALICO = PROFILES["calico"].kind
assert CALICO is not None


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def waiter(reads: list[Any], timeout: float = 60.0):
    time, lines = FakeTime(), []
    beat = Heartbeat(lines.append, clock=time.clock)

    def read() -> list[Rollout]:
        item = reads.pop(0) if len(reads) > 1 else reads[0]
        if isinstance(item, Exception):
            raise item
        return item

    def run(explain=lambda: "") -> None:
        wait_until_ready(read, beat, timeout, clock=time.clock, sleep=time.sleep, explain=explain)

    return run, lines, time


DONE = [Rollout("nodes", 3, 3), Rollout("kube-system/calico-node", 3, 3)]


def test_passing_errors_are_retried_until_ready() -> None:
    reads: list[Any] = [NotYet("cannot reach the API server: MaxRetryError"), NotYet("503"), DONE]
    run, lines, _ = waiter(reads)
    run()
    assert lines[0] == (
        "kind: waiting for the CNI: not readable yet (cannot reach the API server: MaxRetryError)"
    )
    assert lines[-1].startswith("kind: ready: nodes 3/3")


def test_the_deadline_ends_the_wait_with_the_last_state_and_the_explanation() -> None:
    run, _, time = waiter([[Rollout("nodes", 3, 3), Rollout("kube-system/calico-node", 1, 3)]])
    with pytest.raises(SetupError) as exc_info:
        run(explain=lambda: "kube-system/calico-node-x Pending ErrImagePull")
    msg = str(exc_info.value)
    assert "not Ready after 60s" in msg and "calico-node 1/3" in msg and "ErrImagePull" in msg
    assert time.now >= 60


def test_the_wait_is_never_silent_for_more_than_ten_seconds() -> None:
    stuck = [Rollout("nodes", 0, 3)]
    time, stamps = FakeTime(), []
    beat = Heartbeat(lambda _line: stamps.append(time.now), clock=time.clock)
    with pytest.raises(SetupError):
        wait_until_ready(lambda: stuck, beat, 120, clock=time.clock, sleep=time.sleep)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(stamps) >= 10 and max(gaps) <= 10


def test_a_daemonset_not_created_yet_is_not_ready() -> None:
    assert not Rollout("kube-system/calico-node", 0, 0).done
    assert Rollout("nodes", 3, 3).done


# --- the Kubernetes reader -----------------------------------------------------------------------


class Obj:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


class FakeApis:
    """CoreV1Api and AppsV1Api stand-ins: record each call's timeout; fail as told."""

    def __init__(
        self, fail: Exception | None = None, missing: str = "", generation: int = 1
    ) -> None:
        self.fail, self.missing, self.generation = fail, missing, generation
        self.timeouts: list[Any] = []

    def _call(self, kwargs: dict[str, Any], name: str = "") -> None:
        self.timeouts.append(kwargs.get("_request_timeout"))
        if self.fail is not None:
            raise self.fail
        if name and name == self.missing:
            raise ApiException(status=404, reason="Not Found")

    def list_node(self, **kw: Any) -> Any:
        self._call(kw)
        ready = Obj(type="Ready", status="True")
        return Obj(items=[Obj(status=Obj(conditions=[ready])) for _ in range(3)])

    def read_namespaced_daemon_set(self, name: str, ns: str, **kw: Any) -> Any:
        self._call(kw, name)
        return Obj(
            metadata=Obj(generation=self.generation),
            status=Obj(
                observed_generation=1,
                desired_number_scheduled=3,
                updated_number_scheduled=3 if self.generation == 1 else 0,
                number_ready=3 if self.generation > 1 else 2,
                number_available=3 if self.generation > 1 else 2,
            ),
            spec=Obj(template=Obj(spec=Obj(containers=[Obj(image="calico/node:v3.32.1")]))),
        )

    def read_namespaced_deployment(self, name: str, ns: str, **kw: Any) -> Any:
        self._call(kw, name)
        return Obj(status=Obj(ready_replicas=1), spec=Obj(replicas=1))


def test_every_read_has_a_request_timeout() -> None:
    apis = FakeApis()
    rollouts = kube_reader(apis, apis, CALICO)()
    assert [str(r) for r in rollouts] == [
        "nodes 3/3",
        "kube-system/calico-node 2/3",
        "kube-system/calico-kube-controllers 1/1",
        "kube-system/coredns 1/1",
    ]
    assert apis.timeouts == [READ_TIMEOUT] * 4


@pytest.mark.parametrize(
    "error",
    [
        MaxRetryError(None, "/api/v1/nodes", NewConnectionError(None, "Connection refused")),
        ConnectionResetError("reset by peer"),
        TimeoutError("timed out"),
        ApiException(status=503, reason="Service Unavailable"),
        ApiException(status=429, reason="Too Many Requests"),
    ],
)
def test_passing_api_errors_become_not_yet(error: Exception) -> None:
    apis = FakeApis(fail=error)
    with pytest.raises(NotYet):
        kube_reader(apis, apis, CALICO)()


def test_refused_credentials_end_the_wait_at_once() -> None:
    apis = FakeApis(fail=ApiException(status=403, reason="Forbidden"))
    with pytest.raises(SetupError, match="403"):
        kube_reader(apis, apis, CALICO)()


def test_a_daemonset_whose_new_spec_the_controller_has_not_seen_is_not_ready() -> None:
    """All pods Ready, but of the old spec: the counts look complete, the rollout is not."""
    apis = FakeApis(generation=2)
    daemonset = kube_reader(apis, apis, CALICO)()[1]
    assert not daemonset.done
    assert str(daemonset) == (
        "kube-system/calico-node 3/3 (the controller has not seen generation 2 yet; "
        "0/3 updated, 3/3 ready, 3/3 available)"
    )


def test_a_missing_daemonset_reads_as_zero_of_zero() -> None:
    apis = FakeApis(missing="calico-node")
    rollouts = kube_reader(apis, apis, CALICO)()
    assert str(rollouts[1]) == "kube-system/calico-node 0/0" and not rollouts[1].done


def test_a_refused_connection_from_the_real_client_is_not_yet() -> None:
    """The Kubernetes client against a closed loopback port: MaxRetryError, caught."""
    from kubernetes import client

    cfg = client.Configuration()
    cfg.host = "https://127.0.0.1:1"
    cfg.retries = 0
    api = client.ApiClient(cfg)
    read = kube_reader(client.CoreV1Api(api), client.AppsV1Api(api), CALICO)
    with pytest.raises(NotYet, match="cannot reach the API server"):
        read()
