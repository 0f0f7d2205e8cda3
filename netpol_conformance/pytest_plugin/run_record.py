"""The run as one typed record, from what the controller gathered: the results file's content."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pytest

from netpol_conformance.cluster.base import ClusterInfo
from netpol_conformance.pytest_plugin.store import ProcessResults
from netpol_conformance.results.records import (
    ClusterRecord,
    CniRecord,
    NodeRecord,
    RunRecord,
    TestRecord,
)
from netpol_conformance.settings import SuiteSettings


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def suite_version() -> str:
    try:
        return version("netpol-conformance")
    except PackageNotFoundError:
        return "unknown"


def run_status(exitstatus: int, setup_error: str | None, lost: bool = False) -> str:
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return "interrupted"
    if lost:
        return "incomplete"  # a worker died: some scenarios never finished
    if setup_error or exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return "error"
    return "passed" if exitstatus == pytest.ExitCode.OK else "failed"


def weakened_checks(settings: SuiteSettings) -> list[str]:
    """The checks that the run's options switched off, as a person should read them."""
    out = []
    if not settings.run.confirm_window:
        out.append("flapping detection off (--confirm-window 0: no confirmation after convergence)")
    if not settings.hold:
        out.append("hold off (--hold 0: the final state is not probed on after its confirmation)")
    return out


def selection_record(config: pytest.Config) -> dict[str, Any]:
    """What the run was asked to run: ``-m``, ``-k`` and the paths given to pytest."""
    return {
        "markexpr": config.getoption("markexpr", default="") or "",
        "keyword": config.getoption("keyword", default="") or "",
        "args": [str(a) for a in config.args],
    }


def options_record(
    settings: SuiteSettings, selection: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The options that decide what the run means, as plain values."""
    run = settings.run
    return {
        "selection": selection or {},
        "cluster": settings.cluster,
        "cni": settings.profile.name,
        "kube_context": settings.kube_context,
        "external_ip": settings.external_ip,
        "probe_timeout": run.probe.timeout,
        "dns_timeout": run.probe.dns_timeout,
        "enforce_timeout": run.enforce_timeout,
        "confirm_window": run.confirm_window,
        "strict_deny_style": run.strict_deny_style,
        "max_time_to_enforce": run.max_time_to_enforce,
        "hold": settings.hold,
        "simulate_delay": settings.simulate_delay if settings.cluster == "simulated" else None,
        "weakened": weakened_checks(settings),
        "image_overrides": dict(settings.image_overrides),
        "pull_policy": settings.pull_policy,
        "simulate_faults": {k: v for k, v in dataclasses.asdict(settings.faults).items() if v},
        "manifests": str(settings.manifests),
    }


def nodes(processes: Iterable[ProcessResults]) -> tuple[NodeRecord, ...]:
    pods: dict[str, set[str]] = {}
    for proc in processes:
        for node, keys in proc.nodes.items():
            pods.setdefault(node, set()).update(keys)
    return tuple(NodeRecord(n, tuple(sorted(p))) for n, p in sorted(pods.items()))


def build_run_record(
    settings: SuiteSettings,
    info: ClusterInfo | None,
    tests: Sequence[TestRecord],
    processes: Sequence[ProcessResults],
    started: str,
    status: str,
    error: str = "",
    selection: dict[str, Any] | None = None,
    lost: dict[str, str] | None = None,
) -> RunRecord:
    p = settings.profile
    errors: dict[str, str] = {}
    for proc in processes:
        errors.update(proc.setup_errors)
    return RunRecord(
        suite_version=suite_version(),
        started=started,
        finished=now(),
        status=status,
        options=options_record(settings, selection),
        cluster=ClusterRecord(
            kind=settings.cluster,
            kubernetes_version=info.kubernetes_version if info else "",
            context=info.context if info else "",
            nodes=nodes(processes),
        ),
        cni=CniRecord(p.name, p.enforces, p.deny_style, info.cni_version if info else ""),
        steps=tuple(s for proc in processes for s in proc.steps),
        setup_errors=errors,
        tests=tuple(tests),
        error=error,
        lost=dict(lost or {}),
    )
