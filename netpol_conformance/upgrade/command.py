"""Run the upgrade command: its output shown as it comes, its agent event lines kept."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from netpol_conformance.upgrade.events import parse_event
from netpol_conformance.upgrade.timeline import RawEvent

ORIGIN = "upgrade command"


@dataclass
class CommandRun:
    started: float
    finished: float = 0.0
    exit_code: int | None = None  # None: stopped at its timeout
    events: list[RawEvent] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)  # its last lines, for a failure note


def run_upgrade(
    command: str,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    say: Callable[[str], None],
    clock: Callable[[], float] = time.time,
    on_start: Callable[[], None] = lambda: None,
) -> CommandRun:
    """Run ``sh -c COMMAND``; on Ctrl-C or at the timeout stop its whole process group.

    ``on_start`` is called as soon as it runs (the simulated cluster's schedule starts there).
    """
    run = CommandRun(started=clock())
    proc = subprocess.Popen(
        ["sh", "-c", command],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,  # its own group: stopped as a whole
    )
    on_start()
    timer = threading.Timer(timeout, _stop, (proc,))
    timer.daemon = True
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            text = line.rstrip()
            event = parse_event(text, ORIGIN)
            if event is not None:
                run.events.append(event)
            run.tail = [*run.tail[-19:], text]
            say(f"  [upgrade] {text}")
        code = proc.wait()
    except BaseException:
        _stop(proc)
        raise
    finally:
        timer.cancel()
    run.finished = clock()
    run.exit_code = None if code < 0 and run.finished - run.started >= timeout else code
    return run


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
