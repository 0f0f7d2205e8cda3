"""Waiting for the nodes, the CNI and CoreDNS to be Ready after the CNI is installed.

The wait itself is pure: it polls a ``read`` function until every rollout is complete or the
deadline passes, and says where it stands at least every ten seconds. A read that fails for a
passing reason (the API server restarting, a connection refused, a 5xx answer) raises
``NotYet`` and the wait goes on; only the deadline ends it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from netpol_conformance.cluster.base import Backend
from netpol_conformance.cluster.kind.commands import Heartbeat
from netpol_conformance.cluster.pull_errors import pull_rate_limit_hint
from netpol_conformance.cluster.rollout import daemonset_view, rollout_state
from netpol_conformance.cni import KindInstall
from netpol_conformance.errors import SetupError

READ_TIMEOUT = 10  # seconds for each API request of the wait
POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Rollout:
    what: str  # "nodes", "kube-system/calico-node", ...
    ready: int
    want: int
    pending: str = ""  # why a rollout whose counts look complete is not (a DaemonSet's state)

    @property
    def done(self) -> bool:
        return self.want > 0 and self.ready >= self.want and not self.pending

    def __str__(self) -> str:
        counts = f"{self.what} {self.ready}/{self.want}"
        return f"{counts} ({self.pending})" if self.pending and self.ready >= self.want else counts


class NotYet(Exception):
    """A read that failed for a reason that may pass: try again until the deadline."""


def wait_until_ready(
    read: Callable[[], Sequence[Rollout]],
    heartbeat: Heartbeat,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    explain: Callable[[], str] = lambda: "",
) -> None:
    """Poll until every rollout is done; SetupError with the last state after ``timeout``."""
    deadline = clock() + timeout
    last = ""
    while True:
        try:
            rollouts = read()
            line = ", ".join(str(r) for r in rollouts)
            if rollouts and all(r.done for r in rollouts):
                heartbeat.say(f"kind: ready: {line}")
                return
            line = f"{line} ready"
        except NotYet as exc:
            line = f"not readable yet ({exc})"
        if line != last:
            heartbeat.say(f"kind: waiting for the CNI: {line}")
            last = line
        else:
            heartbeat.tick(f"kind: still waiting for the CNI: {line}")
        if clock() > deadline:
            detail = explain()
            raise SetupError(
                f"the CNI was not Ready after {timeout:.0f}s: {line}"
                + (f"; {detail}" if detail else "")
            )
        sleep(POLL_SECONDS)


def kube_reader(core: Any, apps: Any, install: KindInstall) -> Callable[[], list[Rollout]]:
    """Read the nodes, the CNI's DaemonSet and Deployments and CoreDNS, each with a timeout.

    ``core`` and ``apps`` are the Kubernetes client's CoreV1Api and AppsV1Api.
    """
    from kubernetes.client.rest import ApiException
    from urllib3.exceptions import HTTPError

    deployments = [*install.deployments, ("kube-system", "coredns")]

    def read() -> list[Rollout]:
        try:
            nodes = core.list_node(_request_timeout=READ_TIMEOUT).items
            ready_nodes = sum(
                1
                for n in nodes
                for c in (n.status.conditions or [])
                if c.type == "Ready" and c.status == "True"
            )
            out = [Rollout("nodes", ready_nodes, len(nodes))]
            ns, name = install.daemonset
            out.append(_daemonset(apps, ns, name, ApiException))
            out += [_deployment(apps, ns, name, ApiException) for ns, name in deployments]
            return out
        except ApiException as exc:
            if exc.status in (401, 403):
                raise SetupError(
                    f"the kind cluster's API server refused the suite ({exc.status} {exc.reason})"
                ) from None
            raise NotYet(f"the API server answered {exc.status} {exc.reason}") from None
        except (HTTPError, OSError) as exc:  # MaxRetryError, connection refused, timeouts
            raise NotYet(f"cannot reach the API server: {type(exc).__name__}") from None

    return read


def _daemonset(apps: Any, ns: str, name: str, api_exception: type[Exception]) -> Rollout:
    try:
        found = apps.read_namespaced_daemon_set(name, ns, _request_timeout=READ_TIMEOUT)
    except api_exception as exc:
        if getattr(exc, "status", None) == 404:
            return Rollout(f"{ns}/{name}", 0, 0)  # not created yet
        raise
    view = daemonset_view(found)
    done, state = rollout_state(view)
    return Rollout(f"{ns}/{name}", view.ready, view.desired, "" if done else state)


def _deployment(apps: Any, ns: str, name: str, api_exception: type[Exception]) -> Rollout:
    try:
        found = apps.read_namespaced_deployment(name, ns, _request_timeout=READ_TIMEOUT)
    except api_exception as exc:
        if getattr(exc, "status", None) == 404:
            return Rollout(f"{ns}/{name}", 0, 0)
        raise
    return Rollout(f"{ns}/{name}", found.status.ready_replicas or 0, found.spec.replicas or 0)


def not_ready_pods(backend: Backend, install: KindInstall, cluster: str) -> str:
    """The CNI and system pods that are not Ready, or a pull-limit hint if that is why; "" when
    every pod is Ready. For the error of a wait that timed out: it never raises."""
    namespaces = sorted(
        {install.daemonset[0], "kube-system", *(ns for ns, _ in install.deployments)}
    )
    try:
        pods = backend.pods(namespaces)
    except Exception as exc:  # the explanation must not hide the timeout
        return f"(could not list pods: {exc})"
    hint = pull_rate_limit_hint(pods, cluster)
    if hint:
        return hint
    stuck = [f"{p.namespace}/{p.name} {p.phase} {p.message}".strip() for p in pods if not p.ready]
    return "not ready: " + "; ".join(stuck[:6]) if stuck else ""
