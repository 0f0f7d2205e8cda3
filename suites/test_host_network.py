"""Common mistake: "Policies don't apply to host-networked pods".

Whether a hostNetwork pod's traffic is subject to NetworkPolicy is implementation-defined in
Kubernetes, so this check informs and never fails on the verdict: it reports what this CNI did
(as an expected failure with the observation) under step 1's default-deny-ingress.
"""

import time

import pytest

from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.probe.spec import TCP, Probe, ProbeTarget


@pytest.mark.step1
@pytest.mark.parametrize("scenario", ["1-default-deny-ingress"])
def test_host_network_client_is_informational(scenario, netpol_live, record_property):
    live = netpol_live(scenario)
    deployment = live.deployment
    pod = deployment.renderer.host_network_pod()
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    deployment.apply([pod])
    try:
        deadline = time.monotonic() + deployment.options.pod_ready_timeout
        while not any(s.name == name and s.ready for s in deployment.backend.pods([ns])):
            if time.monotonic() > deadline:
                pytest.fail(f"the hostNetwork pod {ns}/{name} did not become ready", pytrace=False)
            time.sleep(0.5)
        db = deployment.pods["backend/db"]
        probe = Probe("frontend/host-client", TCP, "backend/db", 80)
        observed = live.observer.runner.run([ProbeTarget(probe, ns, name, db.ip)])[probe]
    finally:
        deployment.delete([pod])
    record_property("host_network_observed", str(observed))
    if observed.outcome is Outcome.EXEC_ERROR:
        pytest.fail(f"the probe could not run: {observed}", pytrace=False)
    bypass = "bypassed" if observed.outcome is Outcome.CONNECTED else "was subject to"
    pytest.xfail(
        f"informational: a hostNetwork client {bypass} default-deny-ingress "
        f"(frontend host-client -> backend/db:80 observed {observed}); Kubernetes leaves this "
        "to the CNI"
    )
