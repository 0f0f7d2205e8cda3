"""Progress under -n auto: commands' lines are relayed, and no wait is silent for over 10 s."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from netpol_conformance.cluster.kind.commands import HEARTBEAT_SECONDS, Heartbeat, run_command


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_heartbeat_speaks_only_after_the_interval_of_silence() -> None:
    clock, lines = Clock(), []
    beat = Heartbeat(lines.append, clock=clock)
    beat.tick("kind: creating cluster npc")
    assert lines == []
    clock.now = HEARTBEAT_SECONDS - 0.1
    beat.tick("kind: creating cluster npc")
    assert lines == []
    clock.now = HEARTBEAT_SECONDS
    beat.tick("kind: creating cluster npc")
    assert lines == ["kind: creating cluster npc (10s so far)"]


def test_a_line_resets_the_silence() -> None:
    clock, lines = Clock(), []
    beat = Heartbeat(lines.append, clock=clock)
    clock.now = 9.0
    beat.say("kind:  ✓ Ensuring node image")
    clock.now = 18.0
    beat.tick("waiting")
    assert lines == ["kind:  ✓ Ensuring node image"]  # only 9 s since the last line
    clock.now = 19.0
    beat.tick("waiting")
    assert lines[-1] == "waiting (19s so far)"


def test_no_gap_between_progress_lines_exceeds_the_interval() -> None:
    """Tick once a second for ten minutes of (fake) time, as run_command does."""
    clock, stamps = Clock(), []
    beat = Heartbeat(lambda _line: stamps.append(clock.now), clock=clock)
    for second in range(600):
        clock.now = float(second)
        beat.tick("waiting")
    gaps = [b - a for a, b in itertools.pairwise([0.0, *stamps])]
    assert stamps and max(gaps) <= HEARTBEAT_SECONDS


def test_run_command_keeps_and_relays_both_streams(tmp_path: Path) -> None:
    script = tmp_path / "fake-kind"
    script.write_text(
        "#!/bin/sh\n"
        'echo "Creating cluster" >&2\n'
        'echo "kubeconfig written"\n'
        'echo " ✓ Ensuring node image" >&2\n'
        "exit 4\n"
    )
    script.chmod(0o755)
    relayed: list[str] = []
    ticks: list[int] = []
    done = run_command(
        [str(script)], on_line=relayed.append, tick=lambda: ticks.append(1), timeout=60
    )
    assert done.returncode == 4
    assert done.stdout == "kubeconfig written\n"
    assert done.stderr == "Creating cluster\n ✓ Ensuring node image\n"
    assert sorted(relayed) == sorted(
        ["Creating cluster", "kubeconfig written", " ✓ Ensuring node image"]
    )
    assert ticks  # the caller's heartbeat is given the chance to speak


def test_run_command_kills_at_the_timeout(tmp_path: Path) -> None:
    done = run_command([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert done.returncode != 0
    assert "killed after" in done.stderr


def test_a_binary_that_cannot_run_is_an_exit_code_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "kind"
    bad.write_bytes(b"\x7fELF\x02\x01\x01garbage")  # like an arm64 binary on amd64
    bad.chmod(0o755)
    done = run_command([str(bad), "version"], timeout=10)
    assert done.returncode == 127 and "cannot run" in done.stderr
