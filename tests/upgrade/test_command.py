"""The upgrade command: its output shown, its agent events kept, its timeout enforced."""

from __future__ import annotations

import threading
from pathlib import Path

from netpol_conformance.upgrade.command import run_upgrade


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
