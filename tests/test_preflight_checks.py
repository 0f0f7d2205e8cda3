"""The preflight verdict: the CNI under test runs in pods or as a node agent, no other does."""

from __future__ import annotations

import pytest

from netpol_conformance.cluster.base import NodeFacts
from netpol_conformance.cni import profile
from netpol_conformance.preflight import check_cni

KIND_CALICO = ["calico-kube-controllers-5d7f", "calico-node-abcde", "coredns-668d-x", "etcd-cp"]
K3S_NODE = NodeFacts("k3s-0", {"node.kubernetes.io/instance-type": "k3s"})


def test_the_cni_in_pods_passes_and_says_what_runs() -> None:
    v = check_cni(profile("calico"), KIND_CALICO, [])
    assert v.ok and "calico-node-abcde" in v.message


@pytest.mark.parametrize("cni", ["cilium", "flannel", "kube-router"])
def test_another_cni_running_fails_naming_it(cni: str) -> None:
    v = check_cni(profile(cni), KIND_CALICO, [])
    assert not v.ok
    assert "this cluster runs calico (calico-node-abcde)" in v.message


def test_nothing_running_fails_and_says_how_to_declare_a_host_agent() -> None:
    v = check_cni(profile("kube-router"), ["coredns-668d-x"], [NodeFacts("n1")])
    assert not v.ok
    assert "nothing matching '^kube-router' runs; seen: coredns-668d-x" in v.message
    assert "--cni-host-agent" in v.message


def test_k3s_runs_kube_router_inside_its_agent() -> None:
    v = check_cni(
        profile("kube-router"), ["coredns-668d-x", "local-path-provisioner-1"], [K3S_NODE]
    )
    assert v.ok and "k3s-0 is a k3s node" in v.message


def test_k3s_does_not_excuse_a_cni_it_does_not_embed() -> None:
    assert not check_cni(profile("calico"), ["coredns-668d-x"], [K3S_NODE]).ok


def test_a_declared_host_agent_passes_and_says_it_was_not_checked() -> None:
    v = check_cni(profile("kube-router"), ["coredns-668d-x"], [], host_agent_declared=True)
    assert v.ok and "--cni-host-agent" in v.message and "not checked" in v.message


def test_the_local_clusters_node_process_counts() -> None:
    v = check_cni(profile("kube-router"), ["coredns-1", "kube-router (node process)"], [])
    assert v.ok and "kube-router (node process)" in v.message


def test_a_cni_without_a_controller_has_nothing_to_look_for() -> None:
    assert check_cni(profile("bridge"), ["coredns-1"], []).ok
