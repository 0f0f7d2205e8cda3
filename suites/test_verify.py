"""Step 6 of the tutorial, "Verify Your Policies", as checks instead of reading output."""

import pytest

from netpol_conformance.plan.judge import meets, needs_control
from netpol_conformance.plan.layout import DNS_TARGET
from netpol_conformance.policy.describe import describe_policy
from netpol_conformance.policy.parse import parse_policy
from netpol_conformance.probe.spec import DNS, TCP, Probe

pytestmark = pytest.mark.step6

STEP5 = "5-production-isolation"
BACKEND_POLICIES = [
    "allow-dns-egress",
    "allow-external-db-egress",
    "allow-frontend-to-db",
    "default-deny-egress",
    "default-deny-ingress",
]
PRODUCTION_POLICIES = ["allow-dns", "allow-same-namespace", "default-deny-all"]


@pytest.fixture(params=[STEP5])
def step5(request, netpol_plan, netpol_live):
    """The cluster after steps 1-5, in force now (the id keeps these tests with step 5's)."""
    if netpol_plan[request.param].skip_reason:
        pytest.skip(netpol_plan[request.param].skip_reason)
    return netpol_live(request.param)


@pytest.mark.parametrize(
    ("namespace", "names"), [("backend", BACKEND_POLICIES), ("production", PRODUCTION_POLICIES)]
)
def test_policies_are_listed(step5, netpol_backend, namespace, names):
    """`kubectl get networkpolicy -n backend` lists exactly the tutorial's policies."""
    stored = netpol_backend.network_policies(step5.deployment.renderer.namespace(namespace))
    assert sorted(p["metadata"]["name"] for p in stored) == names


def test_policy_is_described(step5, netpol_backend):
    """`kubectl describe networkpolicy allow-frontend-to-db`: the API server kept what we meant."""
    renderer = step5.deployment.renderer
    stored = {
        p["metadata"]["name"]: p
        for p in netpol_backend.network_policies(renderer.namespace("backend"))
    }
    applied = next(
        d for d in step5.result.policies if d["metadata"]["name"] == "allow-frontend-to-db"
    )
    ours, problems = parse_policy(dict(applied), "applied")
    theirs, problems2 = parse_policy(stored["allow-frontend-to-db"], "stored")
    assert not problems and not problems2, problems + problems2
    assert theirs == ours, f"stored:\n{describe_policy(theirs)}\napplied:\n{describe_policy(ours)}"
    text = describe_policy(theirs)
    frontend = renderer.namespace("frontend")
    assert "PodSelector:  app=db" in text
    assert f"namespaces[kubernetes.io/metadata.name={frontend}] AND pods[app=web]" in text
    assert "to ports 5432/TCP" in text


def _probe_once(live, plan, probe):
    """Probe once, now, as the tutorial does by hand, and judge it against the plan."""
    expected = plan.expected[probe]
    target = live.deployment.target(probe)
    observed = live.observer.runner.run([target])[probe]
    listening = live.observer.listening(probe) if needs_control(expected, observed) else None
    assert meets(expected, observed, listening), (
        f"{probe.label}: expected {expected.value}, observed {observed}\n"
        f"probe: {live.observer.runner.command(target)}"
    )


def test_curl_to_db_port_80_is_blocked(step5, netpol_plan):
    """`kubectl exec -n frontend web -- curl -s --max-time 2 http://$DB_IP:80` times out."""
    _probe_once(step5, netpol_plan[STEP5], Probe("frontend/web", TCP, "backend/db", 80))


def test_dns_still_resolves_from_db(step5, netpol_plan):
    """`kubectl exec -n backend db -- nslookup kubernetes.default.svc.cluster.local` works."""
    probe = Probe("backend/db", DNS, DNS_TARGET, 53, "UDP", netpol_plan.layout.dns_name)
    _probe_once(step5, netpol_plan[STEP5], probe)


@pytest.mark.parametrize("scenario", ["forgot-dns-egress"])
def test_dns_fails_without_dns_egress(scenario, netpol_plan, netpol_live):
    """Under default-deny-egress without allow-dns-egress, nslookup from db fails."""
    live = netpol_live(scenario)
    probe = Probe("backend/db", DNS, DNS_TARGET, 53, "UDP", netpol_plan.layout.dns_name)
    _probe_once(live, netpol_plan[scenario], probe)
