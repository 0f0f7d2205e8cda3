"""Is the CNI Ready again, and what did its agents do: a DaemonSet, a command, or a schedule.

- On Kubernetes backends the CNI is a DaemonSet: it is Ready when its rollout is complete
  (the controller saw the latest spec, every scheduled pod is updated, Ready and available)
  and every pod of it is Ready. A thread reads it once a second and turns what changed into
  events on the timeline: pods created, terminating, deleted, Ready, not Ready, restarted.
- ``--ready-command``: Ready when it exits 0 (it is run once a second); its ``AGENT EVENT
  UTC-TIME`` lines go on the timeline too. The local cluster's agent is a node process, not a
  pod: its readiness is ``scripts/local-cluster status``.

When a rollout is complete is ``cluster.rollout``'s to say; ``pod_changes`` is pure; only the
readers talk to a cluster.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

from netpol_conformance.cluster.rollout import (
    DaemonSetView,
    PodView,
    daemonset_view,
    pod_view,
    rollout_state,
)
from netpol_conformance.cni import image_tag
from netpol_conformance.upgrade.events import parse_event
from netpol_conformance.upgrade.timeline import RawEvent

POLL_SECONDS = 1.0
READ_TIMEOUT = 10


class CniWatch(ABC):
    description: str  # how readiness is decided, for people

    def start(self) -> None:  # noqa: B027 - optional
        """Begin recording events."""

    def stop(self) -> None:  # noqa: B027 - optional
        """Stop recording events."""

    @abstractmethod
    def ready(self) -> bool:
        """Whether the CNI is Ready now."""

    def events(self) -> list[RawEvent]:
        return []

    def version(self) -> str:
        return ""


# --- DaemonSets: what changed


def pod_changes(
    before: Mapping[str, PodView], after: Mapping[str, PodView], at: float, origin: str
) -> list[RawEvent]:
    """What happened to the DaemonSet's pods between two reads, as events at ``at``."""
    out: list[RawEvent] = []
    for name, pod in after.items():
        old = before.get(name)
        if old is None:
            out.append(RawEvent(at, name, "created", origin))
            if pod.ready:
                out.append(RawEvent(at, name, "ready", origin))
            continue
        if pod.terminating and not old.terminating:
            out.append(RawEvent(at, name, "terminating", origin))
        if pod.restarts > old.restarts:
            out.append(RawEvent(at, name, "restarted", origin))
        if pod.ready != old.ready:
            out.append(RawEvent(at, name, "ready" if pod.ready else "not-ready", origin))
    out += [RawEvent(at, name, "deleted", origin) for name in before if name not in after]
    return out


# --- DaemonSets: the reader


class DaemonSetWatch(CniWatch):
    def __init__(
        self,
        read: Callable[[], tuple[DaemonSetView | None, list[PodView]]],
        what: str,
        clock: Callable[[], float] = time.time,
        interval: float = POLL_SECONDS,
    ) -> None:
        self.read = read
        self.what = what
        self.description = f"DaemonSet {what} rolled out and every pod of it Ready"
        self.clock = clock
        self.interval = interval
        self._events: list[RawEvent] = []
        self._pods: dict[str, PodView] | None = None
        self._ds: DaemonSetView | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_state = ""

    def poll(self) -> tuple[bool, str]:
        """Read once: record what changed; (rolled out, how it stands)."""
        try:
            ds, pods = self.read()
        except Exception as exc:  # the API server may be restarting too: not Ready, not fatal
            self.last_state = f"cannot read it: {exc}"
            return False, self.last_state
        now = self.clock()
        current = {p.name: p for p in pods}
        with self._lock:
            origin = f"DaemonSet {self.what}"
            if self._pods is not None:
                self._events += pod_changes(self._pods, current, now, origin)
            if self._ds is not None and ds is not None and ds.image != self._ds.image:
                self._events.append(RawEvent(now, self.what, f"image {ds.image}", origin))
            self._pods, self._ds = current, ds
        done, self.last_state = rollout_state(ds, pods)
        return done, self.last_state

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def start(self) -> None:
        self.poll()
        self._thread = threading.Thread(target=self._loop, name="cni-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(READ_TIMEOUT + 5)

    def ready(self) -> bool:
        return self.poll()[0]

    def events(self) -> list[RawEvent]:
        with self._lock:
            return list(self._events)

    def version(self) -> str:
        with self._lock:
            return image_tag(self._ds.image) if self._ds else ""


def kube_daemonset_reader(
    api_client: Any, namespace: str, name: str
) -> Callable[[], tuple[DaemonSetView | None, list[PodView]]]:
    """Read a DaemonSet and its pods through the Kubernetes client (an ``ApiClient``)."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)

    def read() -> tuple[DaemonSetView | None, list[PodView]]:
        try:
            ds = apps.read_namespaced_daemon_set(name, namespace, _request_timeout=READ_TIMEOUT)
        except ApiException as exc:
            if exc.status == 404:
                return None, []
            raise
        labels = (ds.spec.selector.match_labels or {}) if ds.spec.selector else {}
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        items = core.list_namespaced_pod(
            namespace, label_selector=selector, _request_timeout=READ_TIMEOUT
        ).items
        return daemonset_view(ds), [pod_view(p) for p in items]

    return read


# --- a command


class CommandWatch(CniWatch):
    """Ready when a shell command exits 0; its agent event lines are recorded."""

    def __init__(self, command: str, cwd: str | None = None, timeout: float = 60.0) -> None:
        self.command = command
        self.cwd = cwd
        self.timeout = timeout
        self.description = f"`{command}` exits 0"
        self._events: list[RawEvent] = []
        self.last_output = ""

    def ready(self) -> bool:
        try:
            done = subprocess.run(
                ["sh", "-c", self.command],
                cwd=self.cwd,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self.last_output = f"timed out after {self.timeout:g} s"
            return False
        self.last_output = (done.stdout + done.stderr).strip()
        for line in done.stdout.splitlines():
            event = parse_event(line, "ready command")
            if event is not None:
                self._events.append(event)
        return done.returncode == 0

    def events(self) -> list[RawEvent]:
        return list(self._events)


class LocalClusterWatch(CommandWatch):
    """The local cluster: Ready when ``scripts/local-cluster status`` exits 0; its CNI and
    release (``kube-router v2.1.0``, ``bridge 1.1.1+ds1-3``) as ``info`` gives them."""

    def __init__(self, script: str, cwd: str | None = None, timeout: float = 60.0) -> None:
        super().__init__(f"'{script}' status", cwd, timeout)
        self.script = script

    def version(self) -> str:
        try:
            done = subprocess.run(
                [self.script, "info"],
                cwd=self.cwd,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
            info = json.loads(done.stdout) if done.returncode == 0 else {}
        except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
            return ""
        if not isinstance(info, dict) or not info.get("cni"):
            return ""
        return f"{info['cni']} {info.get('cni_version') or ''}".strip()
