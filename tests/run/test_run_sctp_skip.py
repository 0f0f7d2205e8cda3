"""SCTP scenarios are skipped, never passed, where SCTP cannot mean anything: on a CNI whose
profile says it does not enforce policies on SCTP (known before the run), and on nodes whose
kernel cannot carry SCTP (known once the control probes have run)."""

from __future__ import annotations

import pytest

from netpol_conformance.cni import PROFILES, profile
from netpol_conformance.plan.layout import CATALOGUE_MANIFESTS, load_layout
from netpol_conformance.plan.states import skip_reason
from netpol_conformance.pytest_plugin.cases import catalogue_cases
from netpol_conformance.run.catalogue import CatalogueRunner
from netpol_conformance.run.options import RunOptions
from netpol_conformance.scenarios.catalogue import BY_ID, SCENARIOS
from netpol_conformance.sim.cluster import SimulatedCluster

FAST = RunOptions(
    enforce_timeout=2.0, poll_interval=0.05, confirm_window=0.1, pod_ready_timeout=5.0
)
SCTP_TRAFFIC = {"upstream-46-default-deny-ingress-sctp", "upstream-47-ports-sctp",
                "upstream-48-pod-in-other-namespace-sctp"}  # fmt: skip


def sctp_scenarios() -> set[str]:
    return {s.id for s in SCENARIOS if any(k.endswith("/SCTP") for k in s.ports)}


def test_the_sctp_scenarios_are_upstream_46_to_48() -> None:
    """38 and 39 check SCTP policies with TCP traffic: they run wherever TCP does."""
    assert sctp_scenarios() == SCTP_TRAFFIC


def test_every_profile_says_whether_it_enforces_sctp() -> None:
    assert {n: p.enforces_sctp for n, p in PROFILES.items()} == {
        "calico": True,
        "cilium": False,  # beta, off unless the chart sets sctp.enabled=true
        "weave": True,
        "kindnet": True,
        "flannel": False,  # enforces nothing at all
        "kube-router": True,
        "bridge": False,  # enforces nothing at all
    }


def test_a_cni_that_does_not_enforce_sctp_has_its_sctp_scenarios_skipped_with_its_name() -> None:
    cilium = profile("cilium")
    for sid in SCTP_TRAFFIC:
        reason = skip_reason(BY_ID[sid], cilium)
        assert reason and reason.startswith("cilium does not enforce NetworkPolicy on SCTP")
    assert skip_reason(BY_ID["upstream-38-sctp-is-not-tcp"], cilium) is None
    skipped = {
        p.id.split("]")[0]
        for p in catalogue_cases(cilium)
        if any(m.name == "skip" for m in p.marks)
    }
    assert skipped == SCTP_TRAFFIC


@pytest.mark.parametrize("cni", ["calico", "flannel", "bridge"])
def test_sctp_scenarios_run_where_the_profile_allows(cni: str) -> None:
    """A CNI that enforces nothing lets SCTP through like the rest: that is checked too."""
    assert all(skip_reason(BY_ID[sid], profile(cni)) is None for sid in SCTP_TRAFFIC)
    assert not any(any(m.name == "skip" for m in p.marks) for p in catalogue_cases(profile(cni)))


def catalogue_runner(sim: SimulatedCluster) -> CatalogueRunner:
    layout = load_layout(CATALOGUE_MANIFESTS)
    return CatalogueRunner(sim, layout, sim.profile, FAST, "sctp", "sctp", lambda _: None)


def test_a_node_without_sctp_skips_the_sctp_scenarios_once_the_controls_have_run() -> None:
    runner = catalogue_runner(
        SimulatedCluster(profile("calico"), enforcement_delay=0.0, sctp=False)
    )
    try:
        reason = runner.skip_reason(BY_ID["upstream-46-default-deny-ingress-sctp"])
        assert reason and reason.startswith("the node's kernel cannot carry SCTP")
        assert "Protocol not supported" in reason
        assert set(runner.unavailable) == {"SCTP"}
        # the rest of the catalogue runs: the open matrix held without SCTP
        assert runner.skip_reason(BY_ID["upstream-38-sctp-is-not-tcp"]) is None
        (result,) = runner.run(BY_ID["upstream-38-sctp-is-not-tcp"])
        assert result.converged
    finally:
        runner.close()


def test_a_node_with_sctp_probes_them() -> None:
    runner = catalogue_runner(SimulatedCluster(profile("calico"), enforcement_delay=0.0))
    try:
        scenario = BY_ID["upstream-47-ports-sctp"]
        assert runner.skip_reason(scenario) is None and runner.unavailable == {}
        results = runner.run(scenario)
        assert results and all(r.converged for r in results)
    finally:
        runner.close()
