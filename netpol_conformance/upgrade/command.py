"""Run the upgrade command: its output shown as it comes, its agent event lines kept."""

from __future__ import annotations

import contextlib
import os
import queue
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
    finished: float = 0.0  # when the command (sh) exited, or was stopped
    exit_code: int | None = None  # None: stopped at its timeout
    outcome: str = ""  # what happened, as a person reads it: "exit 0", "timed out after 5 s"
    events: list[RawEvent] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)  # its last lines, for a failure note


def describe(code: int | None, timeout: float, stragglers: bool = False) -> str:
    """``exit 3``, ``killed by SIGKILL``, ``timed out after 5 s``: never "exit None"."""
    if code is None:
        what = "processes it started" if stragglers else "command"
        return f"timed out after {timeout:g} s (the {what} stopped)"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def run_upgrade(
    command: str,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    say: Callable[[str], None],
    clock: Callable[[], float] = time.time,
    on_start: Callable[[], None] = lambda: None,
) -> CommandRun:
    """Run ``sh -c COMMAND`` in a session of its own; ``timeout`` bounds it and everything it
    started (a background child too): at the timeout, or on Ctrl-C, the whole session is
    stopped. The command's exit time is when ``sh`` exits, however long its output takes.

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
    deadline = time.monotonic() + timeout
    timed_out = threading.Event()
    exited = threading.Event()

    def watch_exit() -> None:
        proc.wait()
        run.finished = clock()
        exited.set()

    def at_deadline() -> None:
        timed_out.set()
        _stop_group(proc.pid)

    # Its lines are shown by a thread of their own: a flood of output (300k lines) must not
    # hold the command back while the terminal catches up.
    lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()

    def show() -> None:
        while (text := lines.get()) is not None:
            say(f"  [upgrade] {text}")

    waiter = threading.Thread(target=watch_exit, name="upgrade-command", daemon=True)
    waiter.start()
    printer = threading.Thread(target=show, name="upgrade-output", daemon=True)
    printer.start()
    timer = threading.Timer(timeout, at_deadline)
    timer.daemon = True
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # until every process of the group let go of the output
            text = line.rstrip()
            event = parse_event(text, ORIGIN)
            if event is not None:
                run.events.append(event)
            run.tail = [*run.tail[-19:], text]
            lines.put(text)
        exited.wait(max(0.0, deadline - time.monotonic()) + 15)
        # A child that closed its output may still run: it is part of the command too.
        while _group_alive(proc.pid) and not timed_out.is_set():
            if time.monotonic() >= deadline:
                at_deadline()
                break
            time.sleep(0.05)
    except BaseException:
        _stop_group(proc.pid)
        raise
    finally:
        timer.cancel()
        lines.put(None)
    waiter.join(15)
    printer.join()
    if timed_out.is_set():
        run.exit_code = None
        stragglers = exited.is_set() and proc.returncode is not None and proc.returncode >= 0
        run.finished = run.started + timeout  # its work ended when it was stopped
        run.outcome = describe(None, timeout, stragglers)
    else:
        run.exit_code = proc.returncode
        run.outcome = describe(proc.returncode, timeout)
    return run


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_group(pgid: int) -> None:
    """SIGTERM the whole process group, SIGKILL what is left after 5 s."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        if not _group_alive(pgid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
