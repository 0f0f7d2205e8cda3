"""A pod's boot clock mapped onto the host's: bounded by every exec, exact on this kernel."""

from __future__ import annotations

import pytest

from netpol_conformance.upgrade.clock import PodClock, host_boot_offset, split_uptime


def test_every_reading_narrows_the_offset() -> None:
    clock = PodClock(host_offset=lambda: None)
    assert not clock.known
    clock.observe(100.0, sent=1_000.0, returned=1_000.4)  # offset in [899.99, 900.4]
    assert clock.offset() == pytest.approx(900.195)
    clock.observe(200.3, sent=1_100.1, returned=1_100.9)  # offset in [899.79, 900.6]
    assert (clock.low, clock.high) == (pytest.approx(899.99), pytest.approx(900.4))
    clock.observe(300.35, sent=1_200.3, returned=1_200.45)  # offset in [899.94, 900.1]
    assert clock.offset() == pytest.approx(900.045)
    assert clock.epoch(150.0) == pytest.approx(1_050.045)
    assert clock.same_kernel is False


def test_a_reading_that_contradicts_the_others_starts_again() -> None:
    clock = PodClock(host_offset=lambda: None)
    clock.observe(100.0, 1_000.0, 1_000.1)
    clock.observe(100.0, 2_000.0, 2_000.1)  # the pod's node rebooted, or its clock jumped
    assert clock.offset() == pytest.approx(1_900.045)


def test_a_pod_on_this_kernel_maps_exactly() -> None:
    clock = PodClock(host_offset=lambda: 900.123)
    clock.observe(100.0, sent=1_000.0, returned=1_000.4)
    assert clock.same_kernel is True and clock.offset() == 900.123
    clock.observe(500.0, sent=1_000.0, returned=1_000.4)  # not this kernel after all
    assert clock.same_kernel is False and clock.offset() != 900.123


def test_this_host_has_a_boot_clock() -> None:
    offset = host_boot_offset()
    assert offset is not None
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    import time

    assert abs(time.time() - (uptime + offset)) < 0.5


def test_the_uptime_line_is_split_from_the_scripts_output() -> None:
    assert split_uptime("NPC-UPTIME 123.45\nNPC abc 0 0 00\n") == (123.45, "NPC abc 0 0 00\n")
    assert split_uptime("NPC abc 0 0 00\n") == (None, "NPC abc 0 0 00\n")


def test_a_timed_batch_runs_as_the_batch_and_says_when_each_tool_ran() -> None:
    import subprocess

    from netpol_conformance.probe.batch import Batch
    from netpol_conformance.upgrade.clock import split_timing, timed_script, untimed_script

    batch = Batch.of([["echo", "a"], ["sh", "-c", "sleep 0.1; echo b; exit 3"], ["echo", "c"]])
    timed = timed_script(batch.script)
    assert untimed_script(timed) == batch.script
    assert untimed_script(batch.script) is None
    out = subprocess.run(["sh", "-c", timed], capture_output=True, text=True, check=True).stdout
    start, tools, rest = split_timing(out)
    assert start is not None and len(tools) == 3
    assert all(start <= began <= ended for began, ended in tools)
    assert tools[1][1] > tools[1][0]  # its tool slept
    assert batch.results(rest) == {0: (0, "a"), 1: (3, "b"), 2: (0, "c")}
    assert "NPC-AT" not in rest and "NPC-UPTIME" not in rest


def test_a_sample_is_when_the_network_answered() -> None:
    from netpol_conformance.probe.outcome import Outcome
    from netpol_conformance.upgrade.prober import ExecTiming, _when

    clock = PodClock(host_offset=lambda: None)
    clock.observe(100.0, sent=1_000.0, returned=1_000.0)
    timing = ExecTiming(1_000.0, 1_003.0, 100.0, ((100.5, 100.6), (100.7, 102.7)))
    assert _when(timing, 0, Outcome.CONNECTED, clock) == pytest.approx(
        1_000.6, abs=0.01
    )  # at its end
    assert _when(timing, 1, Outcome.TIMEOUT, clock) == pytest.approx(
        1_000.7, abs=0.01
    )  # at its start
    assert _when(timing, 2, Outcome.REFUSED, clock) == pytest.approx(
        1_000.0, abs=0.01
    )  # the round's
    assert _when(timing, 0, Outcome.CONNECTED, None) == pytest.approx(1_001.5)  # the exec's
