"""``-n auto``: more workers than CPUs on a real cluster, xdist's count on the simulated one."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import netpol_conformance.pytest_plugin as plugin
from netpol_conformance.pytest_plugin.workers import REAL_CLUSTER_WORKERS, auto_workers


@pytest.mark.parametrize("cluster", ["kind", "local", "existing"])
def test_a_real_cluster_gets_at_least_the_real_cluster_count(cluster: str) -> None:
    assert auto_workers(cluster, 1) == REAL_CLUSTER_WORKERS
    assert auto_workers(cluster, 2) == REAL_CLUSTER_WORKERS
    assert auto_workers(cluster, 16) == 16  # never fewer than one per CPU


def test_the_simulated_cluster_and_an_explicit_count_are_left_to_xdist() -> None:
    assert auto_workers("simulated", 2) is None
    assert auto_workers("kind", 2, override="3") is None


def fake_config(numprocesses: Any, cluster: str) -> Any:
    return SimpleNamespace(
        option=SimpleNamespace(numprocesses=numprocesses),
        getoption=lambda name: {"netpol_cluster": cluster}[name],
    )


def test_the_hook_answers_only_for_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    monkeypatch.setattr(plugin.os, "sched_getaffinity", lambda _pid: {0, 1})
    assert plugin.pytest_xdist_auto_num_workers(fake_config("auto", "kind")) == 4
    assert plugin.pytest_xdist_auto_num_workers(fake_config("logical", "kind")) is None
    assert plugin.pytest_xdist_auto_num_workers(fake_config("auto", "simulated")) is None
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "3")
    assert plugin.pytest_xdist_auto_num_workers(fake_config("auto", "kind")) is None
