"""The live set and the held paths, chosen from the tutorial's final state."""

from __future__ import annotations

from collections import Counter

from netpol_conformance.cni import profile
from netpol_conformance.plan.catalogue import FINAL_STATE
from netpol_conformance.plan.layout import load_layout
from netpol_conformance.plan.plan import build_plan
from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.probe.spec import DNS, TCP
from netpol_conformance.results.upgrade import DOWN, UP
from netpol_conformance.upgrade.live_set import held_paths, live_probes


def final_state(cni: str = "calico"):  # type: ignore[no-untyped-def]
    layout = load_layout()
    return layout, build_plan(layout, profile(cni), has_external=True)[FINAL_STATE]


def test_one_tcp_probe_per_pair_and_verdict_and_dns_from_every_pod() -> None:
    layout, plan = final_state()
    live = live_probes(plan)
    labels = {lp.probe.label for lp in live}
    assert len(live) == 62
    assert {lp.probe.kind for lp in live} == {TCP, DNS}
    # web -> db has both verdicts: 5432 allowed, 80 denied
    assert "frontend/web->backend/db:5432/TCP" in labels
    assert "frontend/web->backend/db:80/TCP" in labels
    # production reaches frontend on 53 only
    assert "production/api->frontend/admin:53/TCP" in labels
    assert "production/api->frontend/admin:80/TCP" in labels
    dns = [lp for lp in live if lp.probe.kind == DNS]
    assert sorted(lp.probe.source for lp in dns) == sorted(p.key for p in layout.pods)
    assert all(lp.role == UP for lp in dns)
    assert Counter(lp.role for lp in live) == {UP: 19, DOWN: 43}


def test_every_live_probe_keeps_the_plans_expectation() -> None:
    _, plan = final_state("kube-router")
    for lp in live_probes(plan):
        assert lp.expected is plan.expected[lp.probe]
        assert lp.allowed is plan.allowed(lp.probe)
        assert (lp.expected is Outcome.REFUSED) == (lp.role == DOWN)


def test_held_paths_one_per_pair_of_pods_with_an_allowed_tcp_port() -> None:
    layout, plan = final_state()
    pods = {p.key: p for p in layout.pods}
    paths = held_paths(plan, pods)
    assert {p.label for p in paths} == {
        "frontend/web->frontend/admin:80/TCP",
        "frontend/admin->frontend/web:80/TCP",
        "frontend/web->backend/db:5432/TCP",
        "production/web->frontend/web:53/TCP",
        "production/web->frontend/admin:53/TCP",
        "production/web->production/api:80/TCP",
        "production/api->frontend/web:53/TCP",
        "production/api->frontend/admin:53/TCP",
        "production/api->production/web:80/TCP",
    }


def test_a_cni_that_does_not_enforce_must_keep_everything_up() -> None:
    layout, plan = final_state("flannel")
    assert {lp.role for lp in live_probes(plan)} == {UP}
    pods = {p.key: p for p in layout.pods}
    assert len(held_paths(plan, pods)) == 7 * 6
