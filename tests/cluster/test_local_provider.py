"""Which local cluster a --cni may use: its own, or its own switched off in place."""

from __future__ import annotations

import pytest

from netpol_conformance.cluster.providers import (
    local_cni_check,
    local_cni_version,
    local_placement,
)
from netpol_conformance.errors import SetupError


def test_the_cni_the_local_cluster_runs_is_used_as_it_is() -> None:
    assert local_cni_check({"cni": "kube-router"}, "kube-router", "up") is False


def test_a_policy_controller_switched_off_in_place_may_still_be_tested() -> None:
    data = {"cni": "bridge", "switched_off": "kube-router"}
    assert local_cni_check(data, "kube-router", "up") is True
    assert local_cni_check(data, "bridge", "up") is False


@pytest.mark.parametrize("data", [{"cni": "bridge"}, {"cni": "flannel", "switched_off": None}])
def test_another_cni_is_refused_with_the_remedy(data: dict[str, object]) -> None:
    with pytest.raises(SetupError, match=r"runs --cni .*, not kube-router: run down && up"):
        local_cni_check(data, "kube-router", "down && up")


def test_the_cni_version_is_the_release_or_says_the_controller_is_switched_off() -> None:
    assert local_cni_version({"cni": "kube-router", "cni_version": "v2.1.0"}, False) == "v2.1.0"
    assert local_cni_version({"cni": "kube-router", "cni_version": None}, False) == ""
    off = {"cni": "bridge", "cni_version": "1.1.1+ds1-3+b5", "switched_off": "kube-router"}
    assert local_cni_version(off, True) == "switched off (bridge 1.1.1+ds1-3+b5)"
    assert local_cni_version({"cni": "bridge"}, True) == "switched off (bridge)"


def test_a_dataplane_fault_in_force_is_part_of_the_cni_version() -> None:
    """A run against `scripts/local-cluster fault ...` says so in its results, never silently."""
    data = {"cni": "kube-router", "cni_version": "v2.1.0", "fault": "flap 3 0.6"}
    assert local_cni_version(data, False) == "v2.1.0 with the fault flap 3 0.6"
    assert local_cni_version({**data, "cni_version": None}, False) == "with the fault flap 3 0.6"
    assert local_cni_version({**data, "fault": None}, False) == "v2.1.0"


def test_an_enforcer_stopped_on_one_node_is_part_of_the_cni_version() -> None:
    """A run against `scripts/local-cluster cni stop --node 2` says which node enforces nothing."""
    data = {"cni": "kube-router", "cni_version": "v2.1.0", "stopped_on": ["netpol-node2"]}
    assert local_cni_version(data, False) == "v2.1.0 stopped on netpol-node2"
    assert local_cni_version({**data, "stopped_on": []}, False) == "v2.1.0"


def test_two_nodes_place_the_slots_apart_as_kind_does() -> None:
    assert local_placement({"nodes": ["netpol-node", "netpol-node2"]}) == {
        "a": "netpol-node",
        "b": "netpol-node2",
    }
    # one node (or an info without the list): Kubernetes places the pods
    assert local_placement({"nodes": ["netpol-node"]}) == {}
    assert local_placement({"node": "netpol-node"}) == {}
