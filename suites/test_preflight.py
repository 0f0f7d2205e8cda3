"""The tutorial's first command: does the cluster run the CNI we are about to judge?

kubectl get pods -n kube-system | grep -E "calico|cilium|weave|flannel"
"""

import pytest

from netpol_conformance.preflight import check_cni


def test_cni_under_test_is_running(netpol_backend, netpol_settings, record_property):
    """The CNI named by --cni runs (in pods, or as a node agent), and no other known CNI does."""
    verdict = check_cni(
        netpol_settings.profile,
        netpol_backend.cni_components(),
        netpol_backend.node_facts(),
        netpol_settings.cni_host_agent,
    )
    record_property("preflight", verdict.message)
    print(f"preflight: {verdict.message}")
    if not verdict.ok:
        pytest.fail(verdict.message, pytrace=False)
