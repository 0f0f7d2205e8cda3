"""``-n auto``: more workers than CPUs on a remote cluster, xdist's one per CPU where the
cluster shares this machine's CPUs (kind, local) and on the simulated one."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import netpol_conformance.pytest_plugin as plugin
from netpol_conformance.pytest_plugin.workers import REMOTE_CLUSTER_WORKERS, auto_workers


def test_a_remote_cluster_gets_at_least_the_remote_count() -> None:
    assert auto_workers("existing", 1) == REMOTE_CLUSTER_WORKERS
    assert auto_workers("existing", 2) == REMOTE_CLUSTER_WORKERS
    assert auto_workers("existing", 16) == 16  # never fewer than one per CPU


@pytest.mark.parametrize("cluster", ["kind", "local", "simulated"])
def test_a_cluster_on_this_machine_is_left_to_xdist(cluster: str) -> None:
    assert auto_workers(cluster, 2) is None


def test_an_explicit_count_is_left_to_xdist() -> None:
    assert auto_workers("existing", 2, override="3") is None


def fake_config(numprocesses: Any, cluster: str) -> Any:
    return SimpleNamespace(
        option=SimpleNamespace(numprocesses=numprocesses),
        getoption=lambda name: {"netpol_cluster": cluster}[name],
    )


def test_the_hook_answers_only_for_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    monkeypatch.setattr(plugin.os, "sched_getaffinity", lambda _pid: {0, 1})
    assert plugin.pytest_xdist_auto_num_workers(fake_config("auto", "existing")) == 4
    assert plugin.pytest_xdist_auto_num_workers(fake_config("logical", "existing")) is None
    assert plugin.pytest_xdist_auto_num_workers(fake_config("auto", "kind")) is None
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "3")
    assert plugin.pytest_xdist_auto_num_workers(fake_config("auto", "existing")) is None
