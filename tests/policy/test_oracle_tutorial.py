"""The tutorial "Configuring NetworkPolicies to Isolate Namespaces", steps 1-5 and its mistakes.

The manifests are the repository's copy of the tutorial's, read from manifests/. Steps 1-4
accumulate in backend; step 5 builds production on its own. Expected outcomes are written by
hand from the tutorial and the NetworkPolicy API reference, and every answer is checked in both
matrix() and explain().
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from policy_helpers import Sim

from netpol_conformance.model.topology import Topology
from netpol_conformance.model.topology_file import topology_from_dict
from netpol_conformance.policy.oracle import Oracle
from netpol_conformance.policy.parse import parse_policies

WEB = [{"port": 80}, {"port": 5432}]  # DESIGN: the server listens on 80 and 5432
TOPOLOGY: dict[str, Any] = {
    "namespaces": [{"name": n} for n in
                   ("frontend", "backend", "kube-system", "elsewhere", "production")],
    "pods": [
        {"namespace": "frontend", "name": "web", "ip": "10.244.1.10", "labels": {"app": "web"},
         "ports": WEB},
        {"namespace": "frontend", "name": "other", "ip": "10.244.1.11", "ports": WEB},
        {"namespace": "backend", "name": "db", "ip": "10.244.2.10", "labels": {"app": "db"},
         "ports": WEB},
        {"namespace": "backend", "name": "cache", "ip": "10.244.2.11", "ports": WEB},
        {"namespace": "elsewhere", "name": "web", "ip": "10.244.3.10", "labels": {"app": "web"},
         "ports": WEB},
        {"namespace": "kube-system", "name": "coredns", "ip": "10.244.0.2",
         "labels": {"k8s-app": "kube-dns"},
         "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                   {"name": "dns-tcp", "port": 53}]},
        {"namespace": "production", "name": "api", "ip": "10.244.4.10", "ports": WEB},
        {"namespace": "production", "name": "worker", "ip": "10.244.4.11", "ports": WEB},
    ],
    "externals": [
        {"name": "rds", "ip": "10.0.1.50", "ports": [{"port": 5432}, {"port": 443}]},
        {"name": "other-db", "ip": "10.0.1.51", "ports": [{"port": 5432}]},
        {"name": "public-dns", "ip": "8.8.8.8", "ports": [{"port": 53, "protocol": "UDP"}]},
    ],
}  # fmt: skip

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"


def manifest(*names: str) -> str:
    """The repository's copy of the tutorial's manifests, several joined as one YAML stream."""
    return "---\n".join((MANIFESTS / n).read_text() for n in names)


def edit(text: str, old: str, new: str) -> str:
    assert old in text, f"{old!r} not in the manifest: the variant would silently be the original"
    return text.replace(old, new)


STEP_1 = manifest("step-1-default-deny-ingress/default-deny-ingress.yaml")
STEP_2 = manifest("step-2-allow-frontend-to-db/allow-frontend-to-db.yaml")
DENY_EGRESS = manifest("step-3-default-deny-egress/default-deny-egress.yaml")
ALLOW_DNS_EGRESS = manifest("step-3-default-deny-egress/allow-dns-egress.yaml")
STEP_3 = DENY_EGRESS + "---\n" + ALLOW_DNS_EGRESS
STEP_4 = manifest("step-4-allow-external-db-egress/allow-external-db-egress.yaml")
STEP_5 = manifest(
    *(
        f"step-5-production-isolation/{name}.yaml"
        for name in ("default-deny-all", "allow-dns", "allow-same-namespace")
    )
)
# Common mistake: the two selectors of step 2 written as two list items (OR).
STEP_2_OR = edit(STEP_2, "          podSelector:\n", "        - podSelector:\n")
# Common mistake: no policyTypes. With ingress rules only, egress is untouched; with egress rules
# only, ingress is isolated as well (the API server defaults policyTypes to Ingress, plus
# Egress when the policy has egress rules).
INGRESS_RULES_NO_TYPES = edit(STEP_2, "  policyTypes:\n    - Ingress\n", "")
EGRESS_RULES_NO_TYPES = edit(ALLOW_DNS_EGRESS, "  policyTypes:\n    - Egress\n", "")

STEPS = {0: "", 1: STEP_1, 2: STEP_2, 3: STEP_3, 4: STEP_4}


def topology() -> Topology:
    return topology_from_dict(TOPOLOGY, "tutorial-topology")


def simulate(*manifests: str) -> Sim:
    docs = [
        (f"manifest-{i}.yaml", doc)
        for i, text in enumerate(manifests)
        for doc in yaml.safe_load_all(text)
        if doc is not None
    ]
    oracle = Oracle(topology(), parse_policies(docs))
    return Sim(oracle, oracle.matrix())


def backend_after(step: int) -> Sim:
    """Steps are cumulative in backend."""
    return simulate(*(STEPS[s] for s in range(step + 1)))


def test_the_manifests_parse_as_the_tutorial_means() -> None:
    sim = simulate(*STEPS.values(), STEP_5)
    assert {(p.key, tuple(sorted(p.policy_types))) for p in sim.oracle.policies} == {
        ("backend/default-deny-ingress", ("Ingress",)),
        ("backend/allow-frontend-to-db", ("Ingress",)),
        ("backend/default-deny-egress", ("Egress",)),
        ("backend/allow-dns-egress", ("Egress",)),
        ("backend/allow-external-db-egress", ("Egress",)),
        ("production/default-deny-all", ("Egress", "Ingress")),
        ("production/allow-dns", ("Egress",)),
        ("production/allow-same-namespace", ("Egress", "Ingress")),
    }
    (peer,) = (
        next(p for p in sim.oracle.policies if p.name == "allow-frontend-to-db").ingress[0].peers
    )
    assert str(peer) == "namespaces[kubernetes.io/metadata.name=frontend] AND pods[app=web]"


# (step, source, destination, port, protocol, expected) written from the tutorial's prose.
EXPECTED = [
    (0, "frontend/web", "backend/db", 80, "TCP", True),
    (0, "backend/db", "rds", 5432, "TCP", True),
    (0, "elsewhere/web", "backend/cache", 5432, "TCP", True),
    (1, "frontend/web", "backend/db", 80, "TCP", False),
    (1, "frontend/web", "backend/db", 5432, "TCP", False),
    (1, "frontend/web", "backend/cache", 80, "TCP", False),
    (1, "backend/db", "frontend/web", 80, "TCP", True),
    (1, "frontend/web", "elsewhere/web", 80, "TCP", True),
    (2, "frontend/web", "backend/db", 5432, "TCP", True),
    (2, "frontend/web", "backend/db", 80, "TCP", False),
    (2, "frontend/other", "backend/db", 5432, "TCP", False),
    (2, "elsewhere/web", "backend/db", 5432, "TCP", False),
    (2, "frontend/web", "backend/cache", 5432, "TCP", False),
    (2, "backend/cache", "backend/db", 5432, "TCP", False),
    (3, "backend/db", "kube-system/coredns", 53, "UDP", True),
    (3, "backend/db", "kube-system/coredns", 53, "TCP", True),
    (3, "backend/cache", "kube-system/coredns", 53, "UDP", True),
    (3, "backend/db", "frontend/web", 80, "TCP", False),
    (3, "backend/db", "backend/cache", 80, "TCP", False),
    (3, "backend/db", "rds", 5432, "TCP", False),
    (3, "backend/db", "public-dns", 53, "UDP", False),
    (3, "frontend/web", "backend/db", 5432, "TCP", True),
    (3, "frontend/web", "kube-system/coredns", 53, "UDP", True),
    (4, "backend/db", "rds", 5432, "TCP", True),
    (4, "backend/db", "rds", 443, "TCP", False),
    (4, "backend/db", "other-db", 5432, "TCP", False),
    (4, "backend/cache", "rds", 5432, "TCP", False),
    (4, "backend/db", "frontend/web", 5432, "TCP", False),
    (4, "frontend/web", "backend/db", 5432, "TCP", True),
]


@pytest.mark.parametrize(("step", "src", "dst", "port", "protocol", "expected"), EXPECTED)
def test_backend_steps(step: int, src: str, dst: str, port: int, protocol: str, expected: bool):
    assert backend_after(step).allowed(src, dst, port, protocol) is expected


def test_step_0_everything_connects() -> None:
    sim = backend_after(0)
    assert all(c.allowed for c in sim.matrix.cells())
    assert sim.matrix.verdict_count == sum(1 for _ in sim.matrix.cells()) > 0


def test_step_1_reason_names_the_default_deny() -> None:
    assert backend_after(1).reason("frontend/web", "backend/db", 80) == (
        "egress: open (frontend/web is selected by no Egress policy); "
        "ingress: denied (backend/db is isolated by backend/default-deny-ingress "
        "and no rule allows it)"
    )


def test_step_2_allow_names_the_rule_and_both_isolating_policies() -> None:
    sim = backend_after(2)
    assert sim.reason("frontend/web", "backend/db", 5432).endswith(
        "ingress: allowed by backend/allow-frontend-to-db ingress[0] (backend/db is selected by "
        "backend/allow-frontend-to-db, backend/default-deny-ingress)"
    )
    assert "isolated by backend/allow-frontend-to-db, backend/default-deny-ingress" in sim.reason(
        "frontend/web", "backend/db", 80
    )
    into_db = {s for s, d in sim.allowed_pairs(5432) if d == "backend/db"}
    assert into_db == {"frontend/web"}


def test_step_3_only_dns_leaves_backend() -> None:
    sim = backend_after(3)
    leaving = {
        (c.dst, c.port, c.protocol)
        for c in sim.matrix.cells()
        if c.src.startswith("backend/") and c.allowed
    }
    assert leaving == {("kube-system/coredns", 53, "UDP"), ("kube-system/coredns", 53, "TCP")}
    assert sim.reason("backend/db", "kube-system/coredns", 53, "UDP").startswith(
        "egress: allowed by backend/allow-dns-egress egress[0] (backend/db is selected by "
        "backend/allow-dns-egress, backend/default-deny-egress);"
    )


def test_step_4_adds_exactly_one_connection() -> None:
    before = {
        (c.src, c.dst, c.port, c.protocol) for c in backend_after(3).matrix.cells() if c.allowed
    }
    after = {
        (c.src, c.dst, c.port, c.protocol) for c in backend_after(4).matrix.cells() if c.allowed
    }
    assert after - before == {("backend/db", "rds", 5432, "TCP")}
    assert before <= after


def test_step_5_production_is_isolated_except_dns() -> None:
    sim = simulate(STEP_5)
    for port in (80, 5432):
        assert sim.allowed("production/api", "production/worker", port)
        assert sim.allowed("production/worker", "production/api", port)
        assert not sim.allowed("frontend/web", "production/api", port)
        assert not sim.allowed("production/api", "frontend/web", port)
        assert not sim.allowed("production/api", "backend/db", port)
    assert sim.allowed("production/api", "kube-system/coredns", 53, "UDP")
    assert sim.allowed("production/api", "kube-system/coredns", 53, "TCP")
    # allow-dns has no "to": port 53 is open towards any destination, even outside the cluster.
    assert sim.allowed("production/api", "public-dns", 53, "UDP")
    assert not sim.allowed("production/api", "rds", 5432)
    assert sim.reason("production/api", "production/worker", 80) == (
        "egress: allowed by production/allow-same-namespace egress[0] (production/api is "
        "selected by production/allow-dns, production/allow-same-namespace, "
        "production/default-deny-all); "
        "ingress: allowed by production/allow-same-namespace ingress[0] (production/worker is "
        "selected by production/allow-same-namespace, production/default-deny-all)"
    )
    # backend is untouched by production's policies
    assert sim.allowed("frontend/web", "backend/db", 80)


def test_mistake_forgetting_dns_under_default_deny_egress() -> None:
    sim = simulate(DENY_EGRESS)
    assert not sim.allowed("backend/db", "kube-system/coredns", 53, "UDP")
    assert not sim.allowed("backend/db", "kube-system/coredns", 53, "TCP")
    assert sim.reason("backend/db", "kube-system/coredns", 53, "UDP").startswith(
        "egress: denied (backend/db is isolated by backend/default-deny-egress "
        "and no rule allows it)"
    )
    assert simulate(DENY_EGRESS, ALLOW_DNS_EGRESS).allowed(
        "backend/db", "kube-system/coredns", 53, "UDP"
    )


def test_mistake_or_instead_of_and_in_from() -> None:
    and_sim = backend_after(2)
    or_sim = simulate(STEP_1, STEP_2_OR)
    and_in = {s for s, d in and_sim.allowed_pairs(5432) if d == "backend/db"}
    or_in = {s for s, d in or_sim.allowed_pairs(5432) if d == "backend/db"}
    assert and_in == {"frontend/web"}
    # OR: anything in frontend, plus any app=web pod of backend's own namespace (none) ...
    assert or_in == {"frontend/web", "frontend/other"}
    # ... and the podSelector item alone only looks in backend, so elsewhere/web stays out.
    assert not or_sim.allowed("elsewhere/web", "backend/db", 5432)
    (policy,) = (p for p in or_sim.oracle.policies if p.name == "allow-frontend-to-db")
    assert [str(p) for p in policy.ingress[0].peers] == [
        "namespaces[kubernetes.io/metadata.name=frontend]",
        "pods[app=web]",
    ]


def test_mistake_or_variant_lets_other_namespaces_in_with_a_namespace_selector() -> None:
    # DESIGN's negative demonstration: with the podSelector item widened to every namespace,
    # a labelled pod from another namespace gets in; the AND form keeps it out.
    widened = edit(
        STEP_2_OR,
        "        - podSelector:\n",
        "        - namespaceSelector: {}\n          podSelector:\n",
    )
    or_sim = simulate(STEP_1, widened)
    assert or_sim.allowed("elsewhere/web", "backend/db", 5432)
    assert "ingress: allowed by backend/allow-frontend-to-db ingress[0]" in or_sim.reason(
        "elsewhere/web", "backend/db", 5432
    )
    assert not backend_after(2).allowed("elsewhere/web", "backend/db", 5432)


def test_mistake_missing_policy_types_with_ingress_rules_only() -> None:
    sim = simulate(INGRESS_RULES_NO_TYPES)
    assert sim.oracle.policies[0].policy_types == {"Ingress"}
    assert sim.allowed("backend/db", "rds", 5432)  # egress unaffected
    assert sim.allowed("frontend/web", "backend/db", 5432)
    assert not sim.allowed("frontend/other", "backend/db", 5432)


def test_mistake_missing_policy_types_with_egress_rules_only_isolates_ingress() -> None:
    sim = simulate(EGRESS_RULES_NO_TYPES)
    assert sim.oracle.policies[0].policy_types == {"Ingress", "Egress"}
    assert sim.allowed("backend/db", "kube-system/coredns", 53, "UDP")
    assert not sim.allowed("frontend/web", "backend/db", 80)
    assert "ingress: denied (backend/db is isolated by backend/allow-dns-egress" in sim.reason(
        "frontend/web", "backend/db", 80
    )


@pytest.mark.parametrize("step", [0, 1, 2, 3, 4, 5])
def test_matrix_and_explain_agree_on_every_cell(step: int) -> None:
    sim = simulate(STEP_5) if step == 5 else backend_after(step)
    for c in sim.matrix.cells():
        assert sim.oracle.explain(c.src, c.dst, c.port, c.protocol).allowed is c.allowed
