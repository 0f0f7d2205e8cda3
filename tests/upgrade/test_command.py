"""The upgrade command: its output shown, its agent events kept, its timeout enforced."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from netpol_conformance.upgrade.command import describe, run_upgrade


def test_the_commands_lines_are_shown_and_its_events_kept(tmp_path: Path) -> None:
    shown: list[str] = []
    started: list[bool] = []
    script = (
        "echo preparing; echo 'kube-router stopped 2026-11-25T20:33:01.667Z'; "
        'echo "ctx=$NETPOL_KUBE_CONTEXT"; exit 3'
    )
    run = run_upgrade(
        script,
        tmp_path,
        {"NETPOL_KUBE_CONTEXT": "kind-x"},
        60,
        shown.append,
        on_start=lambda: started.append(True),
    )
    assert run.exit_code == 3 and started == [True]
    assert shown == [
        "  [upgrade] preparing",
        "  [upgrade] kube-router stopped 2026-11-25T20:33:01.667Z",
        "  [upgrade] ctx=kind-x",
    ]
    assert [(e.agent, e.event, e.origin) for e in run.events] == [
        ("kube-router", "stopped", "upgrade command")
    ]
    assert run.tail[-1] == "ctx=kind-x" and run.finished >= run.started


def test_a_command_past_its_timeout_is_stopped_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    run = run_upgrade(f"sleep 300 & echo $! >{pid_file}; wait", tmp_path, {}, 0.5, lambda _: None)
    assert run.exit_code is None  # stopped at its timeout, not finished
    child = Path(f"/proc/{pid_file.read_text().strip()}")
    for _ in range(100):  # the child goes with its group (reaped by init: no fixed wait)
        try:
            if "State:\tZ" in (child / "status").read_text():
                break
        except FileNotFoundError:
            break
        threading.Event().wait(0.05)
    else:
        raise AssertionError("the upgrade command's child outlived it")


def _gone(pid: str) -> bool:
    """The process exited (or is a zombie waiting for init to reap it)."""
    for _ in range(100):
        try:
            if "State:\tZ" in Path(f"/proc/{pid}/status").read_text():
                return True
        except FileNotFoundError:
            return True
        threading.Event().wait(0.05)
    return False


def test_a_background_child_left_behind_is_bounded_by_the_timeout(tmp_path: Path) -> None:
    """``sleep 90 & echo bg``: sh exits at once, its child holds the output for 90 s."""
    pid_file = tmp_path / "child.pid"
    t0 = time.monotonic()
    run = run_upgrade(f"sleep 90 & echo $! >{pid_file}; echo bg", tmp_path, {}, 1, lambda _: None)
    assert time.monotonic() - t0 < 10, "the timeout did not bound the command's child"
    assert run.exit_code is None
    assert run.outcome == "timed out after 1 s (the processes it started stopped)"
    assert run.finished - run.started == 1
    assert _gone(pid_file.read_text().strip())


def test_a_child_that_lets_go_of_the_output_is_bounded_too(tmp_path: Path) -> None:
    """``sleep 1000 &`` with its output closed: nothing holds the pipe, the child still runs."""
    pid_file = tmp_path / "child.pid"
    t0 = time.monotonic()
    run = run_upgrade(
        f"sleep 1000 >/dev/null 2>&1 & echo $! >{pid_file}", tmp_path, {}, 1, lambda _: None
    )
    assert time.monotonic() - t0 < 10
    assert run.exit_code is None and run.outcome.startswith("timed out after 1 s")
    assert _gone(pid_file.read_text().strip())


def test_the_exit_time_is_when_the_command_exits_not_when_its_output_was_read(
    tmp_path: Path,
) -> None:
    """300k lines: reading them all takes longer than the command."""
    shown: list[str] = []

    def slow_reader(line: str) -> None:
        shown.append(line)
        if len(shown) % 20000 == 0:
            time.sleep(0.1)

    t0 = time.time()
    run = run_upgrade("seq 300000", tmp_path, {}, 60, slow_reader)
    read_all = time.time() - t0
    assert run.exit_code == 0 and run.outcome == "exit 0" and len(shown) == 300000
    assert run.finished - run.started < read_all - 1.0


@pytest.mark.parametrize(
    ("code", "text"),
    [(0, "exit 0"), (3, "exit 3"), (-9, "killed by SIGKILL"), (-15, "killed by SIGTERM"),
     (None, "timed out after 5 s (the command stopped)")],
)  # fmt: skip
def test_what_the_command_did_is_said_in_words(code: int | None, text: str) -> None:
    assert describe(code, 5) == text
