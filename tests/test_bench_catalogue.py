"""scripts/bench_catalogue.py's CPU figures: how busy the machine was, and when a run is
called CPU-bound."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_catalogue", ROOT / "scripts" / "bench_catalogue.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_cpu_busy_counts_the_time_this_process_spends_computing() -> None:
    b = bench()
    before = b.cpu_busy()
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    assert b.cpu_busy() - before >= 0.25  # the machine's busy time includes ours


@pytest.mark.parametrize(("busy", "bound"), [(1.9, True), (1.7, True), (1.6, False), (0.2, False)])
def test_a_run_is_cpu_bound_from_85_percent_of_every_core(
    busy: float, bound: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    b = bench()
    monkeypatch.setattr(b.os, "sched_getaffinity", lambda _pid: {0, 1})
    b.show_cpu(busy, 1.0)
    line = capsys.readouterr().out
    assert f"CPU busy {busy:.0f} of 2 core-seconds ({busy / 2:.0%})" in line
    assert ("CPU-bound" in line) is bound


@pytest.mark.parametrize(
    ("status", "wall", "verdict"),
    [("passed", 90.0, "met"), ("passed", 120.0, "MISSED"), ("failed", 90.0, "not measured")],
)
def test_only_a_run_that_passed_meets_the_target(
    status: str, wall: float, verdict: str, capsys: pytest.CaptureFixture[str]
) -> None:
    b = bench()
    figures = b.Figures(wall, status, 71, 2, {"converge": 10.0}, 0.6)
    assert b.show("run 1", figures, 100.0) is (verdict == "met")
    assert f"target 100 s: {verdict};" in capsys.readouterr().out
