"""The plan and the runner on the simulated cluster: tables against the oracle, one deployment
running every scenario in turn, and the logical-to-rendered name mapping."""

from __future__ import annotations

import dataclasses

import pytest

from netpol_conformance.cni import profile
from netpol_conformance.plan.catalogue import ALL, ALLOW, BY_ID, DENY, MISTAKES, STEPS, Scenario
from netpol_conformance.plan.layout import DNS_TARGET, load_layout
from netpol_conformance.plan.plan import ScenarioPlan, SuitePlan, build_plan, matrix_probes
from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.probe.spec import DNS
from netpol_conformance.run.options import RunOptions
from netpol_conformance.run.oracle_check import table_disagreements
from netpol_conformance.run.scenarios import RESTORE_STEP, ScenarioRunner
from netpol_conformance.sim.cluster import SimulatedCluster

FAST = RunOptions(
    enforce_timeout=5.0, poll_interval=0.01, pod_ready_timeout=5.0, confirm_window=0.1
)


def plan(cni: str = "calico") -> SuitePlan:
    return build_plan(load_layout(), profile(cni), has_external=True)


@pytest.fixture(scope="module")
def runner() -> ScenarioRunner:
    sim = SimulatedCluster(profile("calico"), enforcement_delay=0.0)
    r = ScenarioRunner(sim, plan(), FAST, "tables", "tables", lambda _: None)
    r.deploy()
    return r


def disagreements(runner: ScenarioRunner, applied: Scenario, table: Scenario) -> tuple[str, ...]:
    """The table of ``table`` against the policies of ``applied`` on the live deployment."""
    docs = runner.deployment.renderer.policies(applied.folders)
    p = plan()
    return table_disagreements(ScenarioPlan(table, p.profile, p.probes), runner.deployment, docs)


def test_catalog() -> None:
    assert STEPS[0].id == "0-no-policies" and STEPS[0].folders == ()
    assert len(STEPS) == 6 and len(MISTAKES) == 4
    assert len(BY_ID) == len(ALL)
    assert [s.marker for s in STEPS] == [f"step{n}" for n in range(6)]
    assert {s.marker for s in MISTAKES} == {"mistake"}


def test_the_matrix_covers_every_pod_pair_port_dns_and_external() -> None:
    layout = load_layout()
    n = len(layout.pods)
    assert {(p.port, p.protocol) for p in layout.server_ports} == {
        (80, "TCP"),
        (5432, "TCP"),
        (53, "TCP"),
        (53, "UDP"),
        (5432, "UDP"),
    }
    # every server port of every other pod, the external host's ports, DNS over UDP and TCP
    per_source = (n - 1) * len(layout.server_ports) + len(layout.external_ports) + 2
    probes = matrix_probes(layout, with_external=True)
    assert len(probes) == n * per_source
    assert len(set(probes)) == len(probes)
    assert len(matrix_probes(layout, with_external=False)) == n * (per_source - 2)


def test_which_probes_exist_is_decided_once() -> None:
    without = build_plan(load_layout(), profile("calico"), has_external=False)
    step4 = without["4-allow-external-db-egress"]
    assert step4.skip_reason and "--external-ip" in step4.skip_reason
    assert all(p.target != "external-db" for s in without.scenarios.values() for p in s.probes)
    assert all(s.skip_reason is None for s in plan().scenarios.values())


@pytest.mark.parametrize("scenario", ALL, ids=lambda s: s.id)
def test_table_agrees_with_the_oracle(runner: ScenarioRunner, scenario: Scenario) -> None:
    assert disagreements(runner, scenario, scenario) == ()


@pytest.mark.parametrize("scenario", ALL, ids=lambda s: s.id)
def test_a_wrong_row_is_detected(runner: ScenarioRunner, scenario: Scenario) -> None:
    """Flip the verdict of one TCP cell and one DNS cell: exactly those two are reported."""
    tcp = ("frontend/web", "backend/db", 5432, "TCP")
    dns = ("backend/db", DNS_TARGET, 53, "UDP")
    flipped = tuple(
        (
            DENY if scenario.expect_allowed(*cell) else ALLOW,
            cell[0],
            cell[1],
            f"{cell[2]}/{cell[3]}",
        )
        for cell in (tcp, dns)
    )
    wrong = dataclasses.replace(scenario, table=(*scenario.table, *flipped))
    found = disagreements(runner, scenario, wrong)
    assert len(found) == 2, found
    assert found[0].startswith("frontend/web->backend/db:5432/TCP: table says")
    assert found[1].startswith("backend/db->dns:kubernetes.default.svc.cluster.local: table says")
    verdict = "denied" if scenario.expect_allowed(*tcp) else "allowed"
    assert f"table says {verdict}, oracle says" in found[0]


def test_a_table_for_the_wrong_manifests_is_detected(runner: ScenarioRunner) -> None:
    """Step 2's table against only step 1's policy: web -> db:5432 is the difference."""
    step1, step2 = BY_ID["1-default-deny-ingress"], BY_ID["2-allow-frontend-to-db"]
    found = disagreements(runner, step1, step2)
    assert [f.split(":")[0] + ":" + f.split(":")[1] for f in found] == [
        "frontend/web->backend/db:5432/TCP"
    ]


def test_or_variant_table_differs_from_and_only_where_expected() -> None:
    p = plan()
    and_, or_ = p["2-allow-frontend-to-db"], p["or-instead-of-and"]
    differs = sorted(x.label for x in p.probes if and_.allowed(x) != or_.allowed(x))
    assert differs == ["backend/web->backend/db:5432/TCP", "frontend/admin->backend/db:5432/TCP"]


@pytest.mark.parametrize("cni", ["calico", "kube-router", "flannel"])
def test_one_deployment_runs_every_scenario_in_turn(cni: str) -> None:
    """Deploy once, then every scenario from the open state: each converges on its own."""
    sim = SimulatedCluster(profile(cni), enforcement_delay=0.0)
    r = ScenarioRunner(sim, plan(cni), FAST, "e2e", "e2e", lambda _: None)
    for scenario in ALL:
        result = r.result(scenario.id)
        assert result.converged, scenario.id
        assert result.failing == ()
        assert result.disagreements == ()
        assert (result.scenario, result.step) == (scenario.id, scenario.id)
        observed = {x.observed.outcome for x in result.probes if x.observed}
        if cni == "kube-router" and scenario.table:
            assert Outcome.REFUSED in observed and Outcome.TIMEOUT not in observed
            refused = [x for x in result.probes if x.observed.outcome is Outcome.REFUSED]
            assert all("accepts connections" in x.evidence for x in refused)
        if cni == "flannel":
            assert observed <= {Outcome.CONNECTED, Outcome.DNS_OK}
    assert sim.namespace_count() == 3  # one deployment for all of them
    # Between two scenarios the open matrix came back, recorded as the next one's first step.
    restores = [s for s in r.results if s.step == RESTORE_STEP]
    assert len(restores) == len(ALL) - 2  # not before 0 (the baseline) nor before 1 (open)
    assert all(s.converged and not s.policies for s in restores)
    r.close()
    assert sim.namespace_count() == 0


def test_the_walkthrough_applies_each_step_on_the_previous_one() -> None:
    sim = SimulatedCluster(profile("calico"), enforcement_delay=0.0)
    r = ScenarioRunner(sim, plan(), FAST, "w", "w", lambda _: None)
    r.result("forgot-dns-egress")  # something else in force first
    steps = r.walkthrough()
    assert [s.step for s in steps] == [s.id for s in STEPS]
    assert all(s.scenario == "walkthrough" and s.converged for s in steps)
    assert [len(s.policies) for s in steps] == [0, 1, 2, 4, 5, 8]
    # The scenario's own result is still the one observed on its own.
    assert r.result("5-production-isolation").scenario == "5-production-isolation"


def test_a_scenario_in_force_is_not_applied_again() -> None:
    sim = SimulatedCluster(profile("calico"), enforcement_delay=0.0)
    r = ScenarioRunner(sim, plan(), FAST, "a", "a", lambda _: None)
    first = r.activate("2-allow-frontend-to-db")
    assert r.activate("2-allow-frontend-to-db") is first
    r.activate("1-default-deny-ingress")
    again = r.activate("2-allow-frontend-to-db")
    assert again is not first and again.converged


def test_dns_probes_ask_the_cluster_dns() -> None:
    dns = [p for p in plan().probes if p.kind == DNS]
    assert len(dns) == 2 * len(load_layout().pods)  # over UDP and over TCP
    assert {p.protocol for p in dns} == {"UDP", "TCP"}
    assert all(p.name == load_layout().dns_name and p.target == DNS_TARGET for p in dns)


def test_logical_names_map_to_rendered_ones_and_back(runner: ScenarioRunner) -> None:
    d = runner.deployment
    r = d.renderer
    web = d.pods["frontend/web"]
    assert web.namespace == r.namespace("frontend") != "frontend"
    assert f"{r.logical_namespace(web.namespace)}/{web.name}" == "frontend/web"
    assert d.rendered("backend/db") == f"{r.namespace('backend')}/db"
    assert d.rendered("kube-system/coredns") == "kube-system/coredns"
    # A probe keeps its logical label; its target is the rendered pod and its real address.
    probe = next(p for p in plan().probes if p.label == "frontend/web->backend/db:5432/TCP")
    target = d.target(probe)
    assert (target.namespace, target.pod) == (web.namespace, "web")
    assert target.address == d.pods["backend/db"].ip
    assert f"-n {web.namespace} web -c probe -- curl" in runner.observer.runner.command(target)
