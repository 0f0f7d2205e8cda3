"""`scripts/local-cluster up --nodes 2`: a second node joined to the same control plane, pod
CIDRs routed between the nodes by kube-router itself, one node's enforcer switched off and on
again, and a clean down. Runs after test_lifecycle.py has brought the session's one-node cluster
down, and brings its own two-node cluster up and down.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from local_cluster_helpers import KUBECTL, leftovers, run, sh

pytestmark = pytest.mark.local_cluster

NODES = ["netpol-node", "netpol-node2"]
KUBE_ROUTER_CHAIN = re.compile(r"^:KUBE-ROUTER-FORWARD ", re.M)


@pytest.fixture(scope="module")
def two_nodes():
    down = run("down", timeout=60)
    assert down.returncode == 0, down.stderr
    up = run("up", "--cni", "kube-router", "--nodes", "2", timeout=600)
    assert up.returncode == 0, up.stderr[-4000:]
    yield up
    assert run("down", timeout=60).returncode == 0
    assert leftovers() == []


def info() -> dict:
    return json.loads(run("info", check=True).stdout)


def kube_router_chains(netns: str) -> bool:
    return bool(KUBE_ROUTER_CHAIN.search(sh(f"ip netns exec {netns} iptables-save -t filter")))


def test_both_nodes_are_ready_on_their_lan_addresses(two_nodes):
    assert "nodes=2" in two_nodes.stderr
    st = run("status")
    assert st.returncode == 0 and "nodes=netpol-node,netpol-node2 Ready" in st.stdout
    assert info()["nodes"] == NODES
    out = subprocess.run(
        [str(KUBECTL), "--kubeconfig", info()["kubeconfig"], "get", "nodes", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    nodes = {n["metadata"]["name"]: n for n in json.loads(out)["items"]}
    assert sorted(nodes) == NODES
    ips = {
        name: next(a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP")
        for name, n in nodes.items()
    }
    assert ips == {"netpol-node": "198.18.1.1", "netpol-node2": "198.18.1.2"}
    assert [nodes[n]["spec"]["podCIDR"] for n in NODES] == ["10.244.0.0/24", "10.244.1.0/24"]


def test_kube_router_routes_each_nodes_pod_cidr_to_it(two_nodes):
    # proto 17: routes kube-router injected from what its BGP peer announced
    one = sh("ip netns exec npc-node ip -4 route show 10.244.1.0/24")
    two = sh("ip netns exec npc-node2 ip -4 route show 10.244.0.0/24")
    assert "via 198.18.1.2 dev npc-lan1 proto 17" in one, one
    assert "via 198.18.1.1 dev npc-lan2 proto 17" in two, two
    # node 2 reaches nothing but node 1's API server address and the external host through it
    routes = sh("ip netns exec npc-node2 ip -4 route show")
    assert "default" not in routes and "198.18.0.0/30" not in routes, routes
    # the host has no route to node 2
    assert "198.18.1." not in sh("ip -4 route show")


def test_one_nodes_enforcer_stops_and_starts_alone(two_nodes):
    assert kube_router_chains("npc-node") and kube_router_chains("npc-node2")
    stop = run("cni", "stop", "--node", "2", check=True)
    events = [line.split()[:2] for line in stop.stdout.splitlines()]
    assert events == [
        ["kube-router/netpol-node2", "stopping"],
        ["kube-router/netpol-node2", "stopped"],
        ["kube-router/netpol-node2", "rules-removed"],
    ]
    assert kube_router_chains("npc-node") and not kube_router_chains("npc-node2")
    st = run("status")
    assert st.returncode == 0 and "stopped-on=netpol-node2," in st.stdout
    assert info()["stopped_on"] == ["netpol-node2"]
    # the pods stay routed: the script's own route stands in for the stopped router's
    assert "via 198.18.1.1" in sh("ip netns exec npc-node2 ip -4 route show 10.244.0.0/24")
    # a rolling restart is refused while a node is stopped, with the remedy
    refused = run("cni", "restart")
    assert refused.returncode == 1 and "cni start --node N" in refused.stderr
    run("cni", "start", "--node", "2", check=True)
    assert kube_router_chains("npc-node2") and info()["stopped_on"] == []


def test_up_as_before_starts_a_nodes_stopped_enforcer(two_nodes):
    run("cni", "stop", "--node", "2", check=True)
    assert not kube_router_chains("npc-node2")
    up = run("up", "--cni", "kube-router", "--nodes", "2", check=True)
    assert "kube-router on netpol-node2 ready" in up.stderr, up.stderr
    assert "as asked again" in up.stderr and "nothing to do" not in up.stderr
    assert kube_router_chains("npc-node2") and info()["stopped_on"] == []


def test_faults_of_one_node_are_refused_on_two(two_nodes):
    proc = run("fault", "dns-any")
    assert proc.returncode == 1
    assert "this cluster has 2 nodes" in proc.stderr and "cni stop --node K" in proc.stderr
    bad = run("cni", "stop", "--node", "3")
    assert bad.returncode == 1 and "no node '3'" in bad.stderr
