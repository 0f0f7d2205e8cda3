"""Upgrades of the simulated cluster: a fault schedule played when the upgrade command runs.

The simulated cluster lives inside this process, so no command can reach it. Its upgrade is
therefore a schedule, given with the suite's ``--simulate-faults`` (for the live part only)
and ``--simulate-faults-after``:

- ``leak-during-upgrade:S``: for S seconds from the upgrade command's start no policy is
  enforced, as when an agent restarts with its rules flushed;
- ``outage-during-upgrade:S``: for S seconds from the start every pod-to-pod packet is
  dropped: every probe times out and held connections stall;
- ``reset-during-upgrade``: every held connection is reset at the start;
- ``--simulate-faults-after F,...``: the faults of the "new version", in force from the moment
  the upgrade command exits, and given to the suite's run after the upgrade.

The upgrade command still runs as on any backend (``true`` or ``sleep 2`` will do): the
schedule starts when it starts, and the CNI is Ready again once it exited and every window is
over. Each moment of the schedule is an event on the timeline (agent ``simulated-cni``).
Held connections are played too: each answers a request per beat when a new connection on its
path would get through, stalls while it would not, and closes when reset.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from netpol_conformance.cluster.base import Backend, ExecResult, PodState
from netpol_conformance.errors import UsageError
from netpol_conformance.probe.batch import Batch, parse_batch_script
from netpol_conformance.probe.commands import ProbeSettings, curl_argv, udp_destination
from netpol_conformance.probe.runner import PROBE_CONTAINER
from netpol_conformance.sim.cluster import DNS_TIMED_OUT, SimulatedCluster
from netpol_conformance.sim.faults import Faults
from netpol_conformance.upgrade.clock import AT_MARK, UPTIME_MARK, untimed_script
from netpol_conformance.upgrade.held import READ_MARK, START_MARK, Hold, holds_of
from netpol_conformance.upgrade.timeline import RawEvent

AGENT = "simulated-cni"
UPGRADE_FAULTS = ("leak-during-upgrade", "outage-during-upgrade", "reset-during-upgrade")
_BOOT = 1000.0  # the simulated node's uptime when the schedule was made


@dataclass(frozen=True)
class UpgradeFaults:
    leak: float = 0.0  # seconds without enforcement from the upgrade's start
    outage: float = 0.0  # seconds of dropped pod traffic from the upgrade's start
    reset: bool = False  # held connections reset at the upgrade's start

    @property
    def longest(self) -> float:
        return max(self.leak, self.outage)


def split_faults(spec: str | None) -> tuple[UpgradeFaults, str]:
    """The upgrade faults of a ``--simulate-faults`` value, and the suite's own faults."""
    values: dict[str, Any] = {}
    rest = []
    for raw in (part.strip() for part in (spec or "").split(",")):
        name, _, arg = raw.partition(":")
        if name == "reset-during-upgrade":
            if arg:
                raise UsageError("reset-during-upgrade takes no argument")
            values["reset"] = True
        elif name in UPGRADE_FAULTS:
            try:
                seconds = float(arg)
            except ValueError:
                seconds = -1.0
            if not 0 < seconds < 3600:
                raise UsageError(f"{name} needs seconds between 0 and 3600: {name}:3")
            values[name.split("-")[0]] = seconds
        elif raw:
            rest.append(raw)
    return UpgradeFaults(**values), ",".join(rest)


class SimulatedUpgrade(Backend):
    """The simulated cluster with an upgrade schedule: delegates everything else to it."""

    def __init__(
        self,
        cluster: SimulatedCluster,
        faults: UpgradeFaults,
        after: Faults,
        clock: Callable[[], float] = time.time,
        tick: float = 0.02,
    ) -> None:
        self.cluster = cluster
        self.info = cluster.info
        self.upgrade = faults
        self.before = cluster.faults
        self.after = after
        self.clock = clock
        self.tick = tick
        self.began: float | None = None
        self.ended: float | None = None
        self._boot = clock() - _BOOT  # the simulated node's boot time, for /proc/uptime
        self._lock = threading.Lock()
        self._faults_lock = threading.Lock()
        self._holds: dict[tuple[str, str, str], _HeldState] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._play_holds, name="sim-held", daemon=True)
        self._thread.start()

    # --- the schedule

    def begin(self) -> None:
        """The upgrade command started."""
        self.began = self.clock()
        self._update()

    def end(self) -> None:
        """The upgrade command exited: the new version is in force."""
        self.ended = self.clock()
        self._update()

    def _in(self, seconds: float, now: float) -> bool:
        return self.began is not None and self.began <= now < self.began + seconds

    def _update(self) -> float:
        """Put the faults of this moment in force; returns the moment. Reading the clock and
        setting the faults is one step, so the faults in force are always those of the latest
        moment read, never an earlier one set by a thread that was preempted in between."""
        with self._faults_lock:
            now = self.clock()
            faults = self.after if self.ended is not None else self.before
            if self._in(self.upgrade.leak, now):
                faults = replace(faults, no_enforcement=True)
            self.cluster.faults = faults
            return now

    def ready(self) -> bool:
        if self.began is None or self.ended is None:
            return False
        return self.clock() >= self.began + self.upgrade.longest

    def events(self) -> list[RawEvent]:
        if self.began is None:
            return []
        origin = "simulated upgrade schedule"
        t, u = self.began, self.upgrade
        planned = []
        if u.leak:
            planned += [(t, "rules-flushed"), (t + u.leak, "rules-restored")]
        if u.outage:
            planned += [(t, "outage-started"), (t + u.outage, "outage-ended")]
        if u.reset:
            planned.append((t, "connections-reset"))
        if self.ended is not None:
            planned.append((self.ended, "new-version"))
        now = self.clock()
        return [RawEvent(at, AGENT, what, origin) for at, what in sorted(planned) if at <= now]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)

    # --- the backend

    def apply(self, objects: Sequence[Mapping[str, Any]]) -> None:
        self.cluster.apply(objects)

    def delete(self, objects: Sequence[Mapping[str, Any]]) -> None:
        self.cluster.delete(objects)

    def pods(self, namespaces: Sequence[str]) -> list[PodState]:
        return self.cluster.pods(namespaces)

    def delete_namespaces(self, label_selector: str) -> list[str]:
        return self.cluster.delete_namespaces(label_selector)

    def network_policies(self, namespace: str) -> list[dict[str, Any]]:
        return self.cluster.network_policies(namespace)

    def cni_components(self) -> list[str]:
        return self.cluster.cni_components()

    def exec(
        self, namespace: str, pod: str, container: str, argv: Sequence[str], timeout: float
    ) -> ExecResult:
        decided = self._update()  # a real pod reads its clock as its probes start, too
        script = argv[2] if len(argv) == 3 and list(argv[:2]) == ["sh", "-c"] else ""
        batch = untimed_script(script)
        timed = batch is not None
        if batch is not None:  # a batch that reads the pod's clock: the simulated node answers
            script = batch
            argv = ["sh", "-c", script]
        held = holds_of(script)
        if held is not None:
            result = self._held(namespace, pod, *held)
        elif self._in(self.upgrade.outage, decided) and _is_batch(script):
            result = _dropped(parse_batch_script(script))
        else:
            result = self.cluster.exec(namespace, pod, container, argv, timeout)
        if timed:
            now = self._uptime(decided)
            launches = " ".join(f"{now} {now}" for _ in parse_batch_script(script).argvs)
            stdout = f"{UPTIME_MARK} {now}\n{result.stdout}{AT_MARK} {launches}\n"
            result = ExecResult(result.returncode, stdout, result.stderr, result.error)
        return result

    # --- held connections

    def _uptime(self, at: float | None = None) -> str:
        """As /proc/uptime shows it: hundredths, cut off."""
        now = self.clock() if at is None else at
        return f"{math.floor((now - self._boot) * 100) / 100:.2f}"

    def _held(self, namespace: str, pod: str, mark: str, holds: tuple[Hold, ...]) -> ExecResult:
        with self._lock:
            if mark == START_MARK:
                now = self.clock()
                for h in holds:
                    self._holds[(namespace, pod, h.id)] = _HeldState(h, now)
                return ExecResult(0, f"{UPTIME_MARK} {self._uptime()}\n")
            if mark != READ_MARK:  # stop
                for h in holds:
                    self._holds.pop((namespace, pod, h.id), None)
                return ExecResult(0, "")
            lines = [f"{UPTIME_MARK} {self._uptime()}"]
            for h in holds:
                state = self._holds.get((namespace, pod, h.id))
                lines.append(f"== {h.id}")
                if state is None:
                    lines.append("gone")
                    continue
                for n, (sent, answered) in enumerate(state.answers, 1):
                    lines.append(f"sent {n} {self._uptime(sent)}")
                    lines.append(f"ok {n} {self._uptime(sent)} {self._uptime(answered)}")
                if state.closed is not None:
                    lines += [f"closed {len(state.answers) + 1} {self._uptime(state.closed)}"]
                elif state.waiting is not None:
                    lines.append(f"sent {len(state.answers) + 1} {self._uptime(state.waiting)}")
                lines.append("gone" if state.closed is not None else "alive")
            return ExecResult(0, "\n".join(lines) + "\n")

    def _play_holds(self) -> None:
        while not self._stop.wait(self.tick):
            now = self.clock()
            with self._lock:
                due = [
                    (key, s) for key, s in self._holds.items() if s.closed is None and now >= s.due
                ]
            for (namespace, pod, _), state in due:
                if self.upgrade.reset and self.began is not None and state.opened < self.began:
                    state.closed = self.began
                    continue
                if state.waiting is None:
                    state.waiting = now  # the request goes out
                if not self._in(self.upgrade.outage, now) and self._through(namespace, pod, state):
                    state.answers.append((state.waiting, now))
                    state.waiting = None
                    state.due = now + state.hold.beat

    def _through(self, namespace: str, pod: str, state: _HeldState) -> bool:
        argv = curl_argv(state.hold.address, state.hold.port, ProbeSettings())
        self._update()
        return self.cluster.exec(namespace, pod, PROBE_CONTAINER, argv, 10).returncode == 0


@dataclass
class _HeldState:
    hold: Hold
    opened: float
    closed: float | None = None
    waiting: float | None = None  # when the request not answered yet went out
    answers: list[tuple[float, float]] = field(default_factory=list)  # (sent, answered)

    def __post_init__(self) -> None:
        self.due = self.opened


def _is_batch(script: str) -> bool:
    try:
        parse_batch_script(script)
    except ValueError:
        return False
    return True


def _dropped(batch: Batch) -> ExecResult:
    """What a probe batch prints when every packet is dropped: each tool times out."""
    lines = []
    for index, argv in enumerate(batch.argvs):
        if argv[0] == "curl":
            message = "Connection timed out after 2001 milliseconds"
            rc, out = 28, f"*   Trying ...\n* {message}\ncurl: (28) {message}"
        elif udp_destination(argv) is not None:
            rc, out = 0, ""
        else:
            rc, out = 9, DNS_TIMED_OUT.replace("|", "\n")
        lines.append(batch.result_line(index, rc, out))
    return ExecResult(0, "\n".join(lines) + "\n")
