"""Running kind, kubectl, helm and docker: output kept, lines relayed, silence never long.

Every long command reports through a ``Heartbeat``: each line the command prints is passed on
as it comes, and when it prints nothing for ``interval`` seconds a line says what is still being
waited for and for how long. Under ``pytest -n auto`` that is the only sign of life of a worker
that builds the cluster, so no wait of the kind backend is ever silent for longer.
"""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Protocol

from netpol_conformance.cluster.base import Progress
from netpol_conformance.cluster.kind.host import INFO_FORMAT
from netpol_conformance.errors import SetupError

HEARTBEAT_SECONDS = 10.0


class Runner(Protocol):
    def __call__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
        tick: Callable[[], None] | None = None,
        timeout: float = 900.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run argv to the end and return its exit code, stdout and stderr (never raises on
        a non-zero exit). ``on_line`` gets every output line as it comes, ``tick`` is called at
        least once a second while the command runs."""


class Heartbeat:
    """Progress lines with a guaranteed rhythm: a line at least every ``interval`` seconds."""

    def __init__(
        self,
        progress: Progress,
        interval: float = HEARTBEAT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.progress, self.interval, self.clock = progress, interval, clock
        self.started = self.last = clock()

    def say(self, line: str) -> None:
        self.progress(line)
        self.last = self.clock()

    def tick(self, waiting_for: str) -> None:
        """Say what is being waited for, if nothing was said for ``interval`` seconds."""
        now = self.clock()
        if now - self.last >= self.interval:
            self.say(f"{waiting_for} ({now - self.started:.0f}s so far)")

    def restart(self) -> None:
        self.started = self.last = self.clock()


def run_command(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    tick: Callable[[], None] | None = None,
    timeout: float = 900.0,
) -> subprocess.CompletedProcess[str]:
    """The real Runner: a subprocess whose stdout and stderr are read line by line."""
    try:
        proc = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            env=dict(env) if env is not None else None,
        )
    except OSError as exc:  # not found, not executable, wrong architecture
        return subprocess.CompletedProcess(list(argv), 127, "", f"cannot run {argv[0]}: {exc}")
    lines: queue.Queue[tuple[int, str | None]] = queue.Queue()
    readers = [
        threading.Thread(target=_pump, args=(stream, n, lines), daemon=True)
        for n, stream in enumerate((proc.stdout, proc.stderr))
    ]
    for reader in readers:
        reader.start()
    out: tuple[list[str], list[str]] = ([], [])
    open_streams = 2
    deadline = time.monotonic() + timeout
    while open_streams:
        try:
            which, line = lines.get(timeout=1.0)
        except queue.Empty:
            which, line = -1, None
        if which >= 0 and line is None:
            open_streams -= 1
        elif which >= 0 and line is not None:
            out[which].append(line)
            if on_line is not None and line.strip():
                on_line(line.rstrip())
        if tick is not None:
            tick()
        if time.monotonic() > deadline:
            proc.kill()
            out[1].append(f"killed after {timeout:.0f}s")
            break
    returncode = proc.wait()
    return subprocess.CompletedProcess(list(argv), returncode, "".join(out[0]), "".join(out[1]))


def _pump(stream: IO[str] | None, which: int, lines: queue.Queue[tuple[int, str | None]]) -> None:
    if stream is not None:
        for line in stream:
            lines.put((which, line))
    lines.put((which, None))


def checked_run(
    run: Runner, argv: Sequence[str], what: str, heartbeat: Heartbeat | None = None
) -> str:
    """Run ``argv`` (its lines to ``heartbeat`` when given) and return its output; SetupError
    naming ``what``, the command and the end of its output when it fails."""
    if heartbeat is None:
        result = run(argv, timeout=600)
    else:
        heartbeat.restart()
        result = run(
            argv,
            on_line=lambda line: heartbeat.say(f"{what}: {line.strip()}"),
            tick=lambda: heartbeat.tick(f"kind: still {what}"),
            timeout=1200,
        )
    if result.returncode != 0:
        detail = (result.stderr.strip() or result.stdout.strip())[-2000:]
        raise SetupError(f"{what} failed (exit {result.returncode}: {' '.join(argv)}):\n{detail}")
    return result.stdout


def docker_preflight(run: Runner, which: Callable[[str], str | None]) -> str:
    """``docker info``'s answer in ``host.INFO_FORMAT``; SetupError saying what to do when
    Docker is missing or its engine does not answer."""
    if which("docker") is None:
        raise SetupError(
            "--cluster kind needs Docker: install it, or run against another cluster with "
            "--cluster existing --kube-context NAME"
        )
    result = run(["docker", "info", "--format", INFO_FORMAT], timeout=60)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        raise SetupError(
            f"the Docker engine is not running or not reachable (docker info: {reason}): "
            "start Docker (and check that this user may use it), then run again"
        )
    return result.stdout


def export_logs(run: Runner, kind: str, cluster: str, target: str, progress: Progress) -> None:
    """``kind export logs``: every node's kubelet, containerd and pod logs, kept before the
    cluster goes (``--kind-logs``). A failure is said and does not stop the clean-up."""
    progress(f"kind: exporting the cluster's logs into {target}")
    result = run([kind, "export", "logs", target, "--name", cluster], timeout=300)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        progress(f"kind: exporting the logs failed ({reason}); the cluster is deleted anyway")
