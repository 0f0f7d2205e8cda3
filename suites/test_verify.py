"""Step 6 of the tutorial, "Verify Your Policies", as checks instead of reading output."""

import pytest

from netpol_conformance.expectations import expected_outcome, meets
from netpol_conformance.policy.parse import parse_policy
from netpol_conformance.probe.spec import DNS, TCP, Probe
from netpol_conformance.report.describe import describe_policy
from netpol_conformance.tutorial.layout import DNS_TARGET
from netpol_conformance.tutorial.scenarios import BY_ID

pytestmark = pytest.mark.step6

STEP5 = BY_ID["5-production-isolation"]
BACKEND_POLICIES = [
    "allow-dns-egress",
    "allow-external-db-egress",
    "allow-frontend-to-db",
    "default-deny-egress",
    "default-deny-ingress",
]
PRODUCTION_POLICIES = ["allow-dns", "allow-same-namespace", "default-deny-all"]


@pytest.fixture(params=[STEP5], ids=[STEP5.id])
def step5(request, scenario_book, scenario_report):
    """The cluster after steps 1-5, converged (the id keeps these tests with step 5's)."""
    scenario_report(request.param)
    return scenario_book.environment(request.param.id)


@pytest.mark.parametrize(
    ("namespace", "names"), [("backend", BACKEND_POLICIES), ("production", PRODUCTION_POLICIES)]
)
def test_policies_are_listed(step5, netpol_backend, namespace, names):
    """`kubectl get networkpolicy -n backend` lists exactly the tutorial's policies."""
    stored = netpol_backend.network_policies(step5.renderer.namespace(namespace))
    assert sorted(p["metadata"]["name"] for p in stored) == names


def test_policy_is_described(step5, netpol_backend):
    """`kubectl describe networkpolicy allow-frontend-to-db`: the API server kept what we meant."""
    namespace = step5.renderer.namespace("backend")
    stored = {p["metadata"]["name"]: p for p in netpol_backend.network_policies(namespace)}
    applied = next(
        d for d in step5.applied_policies if d["metadata"]["name"] == "allow-frontend-to-db"
    )
    ours, problems = parse_policy(applied, "applied")
    theirs, problems2 = parse_policy(stored["allow-frontend-to-db"], "stored")
    assert not problems and not problems2, problems + problems2
    assert theirs == ours, f"stored:\n{describe_policy(theirs)}\napplied:\n{describe_policy(ours)}"
    text = describe_policy(theirs)
    frontend = step5.renderer.namespace("frontend")
    assert "PodSelector:  app=db" in text
    assert f"namespaces[kubernetes.io/metadata.name={frontend}] AND pods[app=web]" in text
    assert "to ports 5432/TCP" in text


def _probe_once(env, probe, settings, scenario):
    allowed = scenario.expect_allowed(probe.source, probe.target, probe.port)
    expected = expected_outcome(probe.kind, allowed, settings.profile)
    target = env.target(probe)
    observed = env.runner.run([target])[probe]
    listening = env.listening(probe) if observed.outcome.value == "refused" else None
    assert meets(expected, observed, listening), (
        f"{probe.label}: expected {expected.value}, observed {observed}\n"
        f"probe: {env.runner.command(target)}"
    )


def test_curl_to_db_port_80_is_blocked(step5, netpol_settings):
    """`kubectl exec -n frontend web -- curl -s --max-time 2 http://$DB_IP:80` times out."""
    _probe_once(step5, Probe("frontend/web", TCP, "backend/db", 80), netpol_settings, STEP5)


def test_dns_still_resolves_from_db(step5, netpol_settings):
    """`kubectl exec -n backend db -- nslookup kubernetes.default.svc.cluster.local` works."""
    name = step5.layout.dns_name
    probe = Probe("backend/db", DNS, DNS_TARGET, 53, "UDP", name)
    _probe_once(step5, probe, netpol_settings, STEP5)


@pytest.mark.parametrize("scenario", [BY_ID["forgot-dns-egress"]], ids=lambda s: s.id)
def test_dns_fails_without_dns_egress(scenario, scenario_book, scenario_report, netpol_settings):
    """Under default-deny-egress without allow-dns-egress, nslookup from db fails."""
    scenario_report(scenario)
    env = scenario_book.environment(scenario.id)
    probe = Probe("backend/db", DNS, DNS_TARGET, 53, "UDP", env.layout.dns_name)
    _probe_once(env, probe, netpol_settings, scenario)
