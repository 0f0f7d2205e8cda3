"""The hand-written scenario tables against the oracle, on the rendered topology."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from netpol_conformance.cluster.simulated import SimulatedCluster
from netpol_conformance.cni import profile
from netpol_conformance.environment import Environment, RunOptions, matrix_ports, scenario_probes
from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.probe.spec import DNS
from netpol_conformance.tutorial.layout import DNS_TARGET, load_layout
from netpol_conformance.tutorial.scenarios import ALL, ALLOW, BY_ID, DENY, MISTAKES, STEPS, Scenario

FAST = RunOptions(enforce_timeout=5.0, poll_interval=0.01, pod_ready_timeout=5.0)


@pytest.fixture(scope="module")
def sim() -> SimulatedCluster:
    return SimulatedCluster(profile("calico"), enforcement_delay=0.0)


@pytest.fixture
def env(sim: SimulatedCluster, request: pytest.FixtureRequest) -> Iterator[Environment]:
    with Environment(
        sim, load_layout(), profile("calico"), FAST, "tables", request.node.name[:40]
    ) as e:
        yield e


def with_policies(env: Environment, scenario: Scenario) -> Environment:
    env.applied_policies = env.renderer.policies(scenario.folders)
    return env


def test_catalog() -> None:
    assert STEPS[0].id == "0-no-policies" and STEPS[0].folders == ()
    assert len(STEPS) == 6 and len(MISTAKES) == 3
    assert len(BY_ID) == len(ALL)
    for s in STEPS[1:]:
        assert s.group == "step"
    for s in MISTAKES:
        assert s.group == "mistake"


def test_the_matrix_covers_every_pod_pair_port_dns_and_external(env: Environment) -> None:
    layout = load_layout()
    n = len(layout.pods)
    per_source = (n - 1) * len(matrix_ports(layout)) + len(layout.external_ports) + 1
    assert len(env.probes) == n * per_source
    assert len(set(env.probes)) == len(env.probes)
    assert len(scenario_probes(layout, with_external=False)) == n * (per_source - 2)


@pytest.mark.parametrize("scenario", ALL, ids=lambda s: s.id)
def test_table_agrees_with_the_oracle(env: Environment, scenario: Scenario) -> None:
    assert with_policies(env, scenario).oracle_disagreements(scenario) == []


@pytest.mark.parametrize("scenario", ALL, ids=lambda s: s.id)
def test_a_wrong_row_is_detected(env: Environment, scenario: Scenario) -> None:
    """Flip the verdict of one TCP cell and one DNS cell: exactly those two are reported."""
    with_policies(env, scenario)
    tcp = ("frontend/web", "backend/db", 5432)
    dns = ("backend/db", DNS_TARGET, 53)
    flipped = tuple(
        (DENY if scenario.expect_allowed(*cell) else ALLOW, cell[0], cell[1], str(cell[2]))
        for cell in (tcp, dns)
    )
    wrong = dataclasses.replace(scenario, table=(*scenario.table, *flipped))
    found = env.oracle_disagreements(wrong)
    assert len(found) == 2, found
    assert found[0].startswith("frontend/web->backend/db:5432/TCP: table says")
    assert found[1].startswith("backend/db->dns:kubernetes.default.svc.cluster.local: table says")
    verdict = "denied" if scenario.expect_allowed(*tcp) else "allowed"
    assert f"table says {verdict}, oracle says" in found[0]


def test_a_table_for_the_wrong_manifests_is_detected(env: Environment) -> None:
    """Step 2's table against only step 1's policy: web -> db:5432 is the difference."""
    step1, step2 = BY_ID["1-default-deny-ingress"], BY_ID["2-allow-frontend-to-db"]
    with_policies(env, step1)
    found = env.oracle_disagreements(step2)
    assert [f.split(":")[0] + ":" + f.split(":")[1] for f in found] == [
        "frontend/web->backend/db:5432/TCP"
    ]


def test_or_variant_table_differs_from_and_only_where_expected() -> None:
    and_ = BY_ID["2-allow-frontend-to-db"]
    or_ = BY_ID["or-instead-of-and"]
    probes = scenario_probes(load_layout(), with_external=True)
    differs = sorted(
        p.label
        for p in probes
        if and_.expect_allowed(p.source, p.target, p.port)
        != or_.expect_allowed(p.source, p.target, p.port)
    )
    assert differs == ["backend/web->backend/db:5432/TCP", "frontend/admin->backend/db:5432/TCP"]


@pytest.mark.parametrize("cni", ["calico", "kube-router", "flannel"])
@pytest.mark.parametrize("scenario", ALL, ids=lambda s: s.id)
def test_scenario_converges_on_the_simulated_cluster(cni: str, scenario: Scenario) -> None:
    """The whole path: create, baseline, apply, poll, judge (incl. control probes), report."""
    sim = SimulatedCluster(profile(cni), enforcement_delay=0.0)
    with Environment(sim, load_layout(), profile(cni), FAST, "e2e", scenario.id) as env:
        if scenario.folders:
            assert env.baseline().converged
        report = env.apply_scenario(scenario)
        assert report.converged, report.failure_summary()
        assert report.failing == []
        assert report.oracle_disagreements == []
        observed = {o.outcome for o in report.state.last.values()}
        if cni == "kube-router" and scenario.table:
            assert Outcome.REFUSED in observed and Outcome.TIMEOUT not in observed
        if cni == "flannel":
            assert observed <= {Outcome.CONNECTED, Outcome.DNS_OK}
    assert sim.namespace_count() == 0


def test_dns_probes_ask_the_cluster_dns(env: Environment) -> None:
    dns = [p for p in env.probes if p.kind == DNS]
    assert len(dns) == len(load_layout().pods)
    assert all(p.name == load_layout().dns_name and p.target == DNS_TARGET for p in dns)


def test_logical_names_map_to_rendered_ones_and_back(env: Environment) -> None:
    r = env.renderer
    web = env.pods["frontend/web"]
    assert web.namespace == r.namespace("frontend") != "frontend"
    assert f"{r.logical_namespace(web.namespace)}/{web.name}" == "frontend/web"
    assert env._rendered_key("backend/db") == f"{r.namespace('backend')}/db"
    assert env._rendered_key("kube-system/coredns") == "kube-system/coredns"
    # A probe keeps its logical label; its target is the rendered pod and its real address.
    probe = next(p for p in env.probes if p.label == "frontend/web->backend/db:5432/TCP")
    target = env.target(probe)
    assert (target.namespace, target.pod) == (web.namespace, "web")
    assert target.address == env.pods["backend/db"].ip
    assert f"-n {web.namespace} web -c probe -- curl" in env.runner.command(target)
