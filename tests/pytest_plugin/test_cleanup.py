"""Nothing is left behind: deployments, the session's end, and set-up errors reported once."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from netpol_conformance.cluster.base import ClusterInfo, Progress
from netpol_conformance.cluster.providers import Provider
from netpol_conformance.cni import profile
from netpol_conformance.errors import SetupError
from netpol_conformance.plan.layout import load_layout
from netpol_conformance.plan.plan import build_plan
from netpol_conformance.pytest_plugin.session import ReportedSetupError, SuiteSession
from netpol_conformance.run.options import RunOptions
from netpol_conformance.run.scenarios import ScenarioRunner
from netpol_conformance.settings import SuiteSettings
from netpol_conformance.sim.cluster import SimulatedCluster

CALICO = profile("calico")
FAST = RunOptions(
    enforce_timeout=2.0, poll_interval=0.01, pod_ready_timeout=2.0, confirm_window=0.1
)
PLAN = build_plan(load_layout(), CALICO, has_external=True)


def runner(sim: SimulatedCluster, name: str = "cleanup", run_id: str = "r1") -> ScenarioRunner:
    return ScenarioRunner(sim, PLAN, FAST, run_id, name, lambda _: None)


# --- a runner's deployment ---------------------------------------------------------------------


def test_close_deletes_the_namespaces_and_the_policies() -> None:
    sim = SimulatedCluster(CALICO, enforcement_delay=0.0)
    r = runner(sim)
    r.result("1-default-deny-ingress")
    assert sim.namespace_count() == 3
    assert sim.network_policies(r.deployment.renderer.namespace("backend"))
    r.close()
    assert sim.namespace_count() == 0
    assert "destroy" in r.phases


class InterruptedWait(SimulatedCluster):
    """Ctrl-C while the pods are being waited for."""

    def pods(self, namespaces: Sequence[str]):  # type: ignore[override]
        raise KeyboardInterrupt


def test_an_interrupted_deploy_is_still_deleted_on_close() -> None:
    sim = InterruptedWait(CALICO)
    r = runner(sim)
    with pytest.raises(KeyboardInterrupt):
        r.deploy()
    assert sim.namespace_count() == 3
    r.close()
    assert sim.namespace_count() == 0


class PodsFail(SimulatedCluster):
    """Namespaces are created, then creating the pods fails (e.g. an admission webhook)."""

    def apply(self, objects: Sequence[Mapping[str, Any]]) -> None:
        if any(o.get("kind") == "Pod" for o in objects):
            raise SetupError("admission webhook denied the pods")
        super().apply(objects)


def test_a_failed_deploy_is_kept_raised_again_and_deleted_on_close() -> None:
    sim = PodsFail(CALICO)
    r = runner(sim)
    with pytest.raises(SetupError, match="webhook"):
        r.result("1-default-deny-ingress")
    with pytest.raises(SetupError, match="webhook"):  # the same error, not a second attempt
        r.result("2-allow-frontend-to-db")
    assert set(r.errors) == {"1-default-deny-ingress", "2-allow-frontend-to-db"}
    r.close()
    assert sim.namespace_count() == 0


def test_close_never_raises() -> None:
    sim = SimulatedCluster(CALICO, enforcement_delay=0.0)
    messages: list[str] = []
    r = ScenarioRunner(sim, PLAN, FAST, "r1", "w", messages.append)
    r.deploy()

    def broken(label_selector: str) -> list[str]:
        raise RuntimeError("API server gone")

    sim.delete_namespaces = broken  # type: ignore[method-assign]
    r.close()
    assert any("could not delete the namespaces of w" in m for m in messages)


def test_only_its_own_namespaces_are_deleted() -> None:
    sim = SimulatedCluster(CALICO, enforcement_delay=0.0)
    other = runner(sim, name="other")
    other.deploy()
    mine = runner(sim, name="mine")
    mine.deploy()
    assert sim.namespace_count() == 6
    mine.close()
    assert set(sim._namespaces) == set(other.deployment.renderer.namespace_map.values())


@pytest.mark.parametrize("name", ["x" * 80, "walkthrough-", "step-2_"])
def test_names_that_are_not_label_values_are_still_cleaned(name: str) -> None:
    sim = SimulatedCluster(CALICO, enforcement_delay=0.0)
    r = runner(sim, name=name)
    r.deploy()
    assert sim.namespace_count() == 3
    r.close()
    assert sim.namespace_count() == 0


# --- the session -------------------------------------------------------------------------------


def settings() -> SuiteSettings:
    return SuiteSettings(cluster="simulated", profile=CALICO, run=FAST)


class SharedSimulated(Provider):
    """One simulated cluster shared by every connect, as a real cluster is; counts prepares."""

    def __init__(self, error: BaseException | None = None, delay: float = 0.0) -> None:
        super().__init__(CALICO)
        self.sim = SimulatedCluster(CALICO, enforcement_delay=0.0)
        self.error, self.delay = error, delay
        self.prepared = 0
        self.finished: list[ClusterInfo] = []

    def prepare(self, progress: Progress) -> ClusterInfo:
        self.prepared += 1
        time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.sim.info

    def connect(self, info: ClusterInfo) -> SimulatedCluster:
        return self.sim

    def finish(self, info: ClusterInfo, progress: Progress) -> None:
        self.finished.append(info)


def session(tmp_path: Path, provider: Provider, run_id: str = "run1") -> SuiteSession:
    messages: list[str] = []
    s = SuiteSession(settings(), tmp_path, messages.append, run_id=run_id, state_dir=tmp_path)
    s._provider = provider
    s.owns_state_dir = True  # speaks directly; tmp_path is pytest's to remove
    s.messages = messages  # type: ignore[attr-defined]
    return s


def test_finish_deletes_the_namespaces_of_the_run(tmp_path: Path) -> None:
    provider = SharedSimulated()
    s = session(tmp_path, provider)
    sim = s.backend()
    assert sim is provider.sim
    runner(sim, "a", run_id="run1").deploy()
    runner(sim, "b", run_id="run1").deploy()
    survivor = runner(sim, "c", run_id="another-run")
    survivor.deploy()
    assert sim.namespace_count() == 9
    s.finish()
    assert set(sim._namespaces) == set(survivor.deployment.renderer.namespace_map.values())
    assert len(provider.finished) == 1
    assert any("deleted 6 leftover namespaces of run run1" in m for m in s.messages)  # type: ignore[attr-defined]


def test_a_worker_session_finish_connects_to_clean_up(tmp_path: Path) -> None:
    """The controller never used the cluster itself; it still cleans the workers' namespaces."""
    provider = SharedSimulated()
    worker = session(tmp_path, provider)
    runner(worker.backend(), "w", run_id=worker.run_id).deploy()
    assert provider.sim.namespace_count() == 3
    controller = session(tmp_path, provider)
    controller.finish()
    assert provider.sim.namespace_count() == 0


def test_finish_before_any_cluster_does_nothing(tmp_path: Path) -> None:
    provider = SharedSimulated()
    session(tmp_path, provider).finish()
    assert provider.prepared == 0
    assert provider.finished == []


def test_finish_never_raises(tmp_path: Path) -> None:
    provider = SharedSimulated()
    s = session(tmp_path, provider)
    s.backend()

    def broken(label_selector: str) -> list[str]:
        raise RuntimeError("API server gone")

    provider.sim.delete_namespaces = broken  # type: ignore[method-assign]
    s.finish()
    assert any("clean-up failed" in m and "cleanup" in m for m in s.messages)  # type: ignore[attr-defined]


def test_setup_failure_is_written_once_and_reported_once(tmp_path: Path) -> None:
    provider = SharedSimulated(error=SetupError("--cluster kind needs Docker: install it"))
    first = session(tmp_path, provider)
    with pytest.raises(SetupError) as exc_info:
        first.info()
    assert not isinstance(exc_info.value, ReportedSetupError)
    assert first.setup_error == "--cluster kind needs Docker: install it"
    second = session(tmp_path, provider)
    with pytest.raises(ReportedSetupError, match="needs Docker"):
        second.info()
    with pytest.raises(ReportedSetupError):
        first.backend()
    assert provider.prepared == 1


def test_unexpected_setup_errors_are_wrapped_and_written(tmp_path: Path) -> None:
    provider = SharedSimulated(error=RuntimeError("boom"))
    with pytest.raises(SetupError, match="preparing the simulated cluster failed") as exc_info:
        session(tmp_path, provider).info()
    assert isinstance(exc_info.value.__cause__, RuntimeError)
    assert "boom" in (tmp_path / "setup-error.txt").read_text()
    with pytest.raises(ReportedSetupError, match="boom"):
        session(tmp_path, provider).info()


def test_concurrent_workers_prepare_the_cluster_once(tmp_path: Path) -> None:
    provider = SharedSimulated(delay=0.2)
    infos: list[ClusterInfo] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            infos.append(session(tmp_path, provider).info())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert provider.prepared == 1
    assert len(infos) == 4 and all(i == infos[0] for i in infos)


def test_the_run_state_directory_is_removed_and_the_error_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    controller = SuiteSession(settings(), tmp_path, lambda _: None)
    assert controller.state_dir.parent == tmp_path
    controller._provider = SharedSimulated(error=SetupError("no cluster for you"))
    worker = SuiteSession(
        settings(),
        tmp_path,
        lambda _: None,
        run_id=controller.run_id,
        state_dir=controller.state_dir,
    )
    worker._provider = controller._provider
    with pytest.raises(SetupError):
        worker.info()
    worker.finish()  # a worker never removes the shared directory
    assert controller.state_dir.is_dir()
    controller.finish()
    assert not controller.state_dir.exists()
    assert controller.setup_error == "no cluster for you"  # still there for the summary


def test_a_healthy_run_leaves_no_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    s = SuiteSession(settings(), tmp_path, lambda _: None)
    provider = SharedSimulated()
    s._provider = provider
    runner(s.backend(), "h", run_id=s.run_id).deploy()
    s.finish()
    assert list(tmp_path.iterdir()) == []
    assert s.setup_error is None
    assert provider.sim.namespace_count() == 0


def test_a_session_that_never_needed_a_cluster_makes_no_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    s = SuiteSession(settings(), tmp_path, lambda _: None)
    s.finish()
    assert list(tmp_path.iterdir()) == []
