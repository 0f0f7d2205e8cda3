"""Lifecycle tests of scripts/local-cluster: up, status, info, logs, idempotence, and a clean
down. The last test brings the session's cluster down (see conftest.py).
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from local_cluster_helpers import (
    CACHE,
    CNI,
    LC_DIR,
    daemon_pids,
    host_snapshot,
    leftovers,
    run,
    sh,
)

pytestmark = pytest.mark.local_cluster

LOCAL_CNIS = [
    line.split()[0]
    for line in (LC_DIR / "cnis.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


def test_status_is_healthy_after_up(cluster):
    st = run("status")
    assert st.returncode == 0, st.stdout + st.stderr
    assert "up" in st.stdout and CNI in st.stdout


def test_info_describes_the_cluster(cluster):
    out = run("info", check=True).stdout
    info = json.loads(out)
    assert set(info) == {
        "kubeconfig",
        "cni",
        "node",
        "external",
        "images",
        "image_pull_policy",
        "pod_cidr",
        "service_cidr",
        "dns_service_ip",
        "icmp_ratelimit",
        "icmp_ratelimit_ms",
        "cni_version",
        "switched_off",
        "fault",
        "nodes",
        "stopped_on",
    }
    assert info["cni"] == CNI and info["switched_off"] is None and info["fault"] is None
    assert info["nodes"] == [info["node"]] == ["netpol-node"] and info["stopped_on"] == []
    if CNI == "kube-router":  # the release scripts/local-cluster pins and builds
        lib = (Path(__file__).parents[2] / "scripts/local_cluster/lib.sh").read_text()
        pinned = re.search(r"^KUBE_ROUTER_VERSION=(\S+)$", lib, re.M)
        assert pinned and info["cni_version"] == pinned.group(1)
    assert info["icmp_ratelimit"] == "off" and info["icmp_ratelimit_ms"] == 0
    assert Path(info["kubeconfig"]).is_file()
    assert run("kubeconfig", check=True).stdout.strip() == info["kubeconfig"]
    assert info["external"]["ports"] == [80, 5432]
    assert info["image_pull_policy"] == "Never"
    assert info["images"] == {
        "server": "netpol-conformance.local/probe:v1",
        "probe": "netpol-conformance.local/probe:v1",
    }
    pod_net = ipaddress.ip_network(info["pod_cidr"])
    svc_net = ipaddress.ip_network(info["service_cidr"])
    ext = ipaddress.ip_address(info["external"]["ip"])
    assert ipaddress.ip_address(info["dns_service_ip"]) in svc_net
    assert ext not in pod_net and ext not in svc_net


def test_kubeconfig_reaches_a_ready_node(cluster):
    kubeconfig = run("kubeconfig", check=True).stdout.strip()
    kubectl = CACHE / "bin" / "kubectl"
    out = subprocess.run(
        [str(kubectl), "--kubeconfig", kubeconfig, "get", "nodes", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    nodes = json.loads(out.stdout)["items"]
    assert len(nodes) == 1
    ready = [c for c in nodes[0]["status"]["conditions"] if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "True"
    # RBAC is real: an unauthenticated request is refused.
    server = re.search(r"server: (\S+)", Path(kubeconfig).read_text()).group(1)
    anon = subprocess.run(
        ["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", f"{server}/api/v1/secrets"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert anon.stdout in ("401", "403")


def test_nothing_is_routed_off_the_machine(cluster):
    info = json.loads(run("info", check=True).stdout)
    node_routes = sh("ip netns exec npc-node ip -4 route show")
    assert node_routes.strip(), "node namespace missing"
    assert "default" not in node_routes, node_routes
    # The external host is reached by routing inside our namespaces, without NAT.
    ext_routes = sh("ip netns exec npc-ext ip -4 route show")
    assert info["pod_cidr"] in ext_routes, ext_routes
    # No masquerade rule aimed at the host link or at the whole world.
    nat = sh("ip netns exec npc-node iptables -t nat -S")
    assert "-o npc-node0" not in nat
    assert not re.search(r"-A POSTROUTING (-s \S+ )?-j MASQUERADE", nat), nat
    # Pods cannot be forwarded to the host's end of the link.
    rules = sh("ip netns exec npc-node ip rule show")
    assert re.search(r"to 198\.18\.0\.\d+/30 iif cni0 prohibit", rules), rules
    # The host gained only a route to the node's /30 link.
    host_routes = sh("ip -4 route show dev npc-host")
    assert host_routes.split()[0] == "198.18.0.0/30", host_routes


def test_external_host_answers_on_its_ports(cluster):
    info = json.loads(run("info", check=True).stdout)
    for port in info["external"]["ports"]:
        code = sh(
            f"ip netns exec npc-node curl -s -o /dev/null -w '%{{http_code}}' -m 3 "
            f"http://{info['external']['ip']}:{port}/"
        )
        assert code == "200", (port, code)


def test_logs_lists_every_running_daemon(cluster):
    listed = {}
    for line in run("logs", check=True).stdout.splitlines():
        name, state, path = line.split()
        listed[name] = (state, path)
    assert set(daemon_pids()) <= set(listed)
    # fault-keeper runs only while a fault is set (test_faults.py set and cleared some)
    assert all(s == "running" for n, (s, _) in listed.items() if n != "fault-keeper"), listed
    for name, (_, path) in listed.items():
        assert Path(path).is_file() and Path(path).name == f"{name}.log"
    assert "kube-apiserver" in listed and "kubelet" in listed
    assert ("kube-router" in listed) == (CNI == "kube-router")
    shown = run("logs", "kubelet", check=True).stdout
    assert shown and Path(listed["kubelet"][1]).read_text().startswith(shown)
    assert run("logs", "no-such-daemon").returncode != 0


def test_up_twice_is_idempotent(cluster):
    before = daemon_pids()
    assert "kube-apiserver" in before and "kubelet" in before
    t0 = time.monotonic()
    again = run("up", "--cni", CNI, timeout=300)
    print(f"\nup on a healthy cluster: {time.monotonic() - t0:.2f} s")
    elapsed = time.monotonic() - t0
    assert again.returncode == 0, again.stderr
    assert elapsed < 20, f"second up took {elapsed:.1f}s: it restarted the cluster"
    assert daemon_pids() == before, "second up restarted daemons"
    assert run("status").returncode == 0


def test_bad_arguments_fail_clearly_and_leave_the_cluster_alone(cluster):
    pids = daemon_pids()
    bad = run("up", "--cni", "no-such-cni")
    assert bad.returncode != 0
    assert len(bad.stderr.splitlines()) == 1, bad.stderr
    assert "no-such-cni" in bad.stderr and all(c in bad.stderr for c in LOCAL_CNIS), bad.stderr
    icmp = run("up", "--icmp-ratelimit", "sometimes")
    assert icmp.returncode != 0 and "off" in icmp.stderr and "default" in icmp.stderr
    assert len(icmp.stderr.splitlines()) == 1, icmp.stderr
    unknown = run("frobnicate")
    assert unknown.returncode != 0 and "unknown subcommand" in unknown.stderr
    for args in (("cni",), ("cni", "switch", "calico"), ("cni", "restart", "now")):
        proc = run(*args)
        assert proc.returncode != 0 and "usage: cni restart" in proc.stderr, (args, proc.stderr)
    assert run("status").returncode == 0
    assert daemon_pids() == pids


def test_up_with_the_other_cni_restarts_with_it(cluster):
    other = "bridge" if CNI == "kube-router" else "kube-router"
    t0 = time.monotonic()
    run("up", "--cni", other, timeout=300, check=True)
    t1 = time.monotonic()
    info = json.loads(run("info", check=True).stdout)
    assert info["cni"] == other
    # kube-router's pinned release; bridge's from its Debian package (e.g. 1.1.1+ds1-3+b17)
    assert re.fullmatch(
        r"v\d+\.\d+\.\d+" if other == "kube-router" else r"\d\S*", info["cni_version"]
    )
    assert ("kube-router" in daemon_pids()) == (other == "kube-router")
    # and back, so the remaining tests see the cluster they expect
    run("up", "--cni", CNI, timeout=300, check=True)
    print(f"\nup --cni {other}: {t1 - t0:.1f} s; up --cni {CNI}: {time.monotonic() - t1:.1f} s")
    assert json.loads(run("info", check=True).stdout)["cni"] == CNI
    assert run("status").returncode == 0


def test_down_removes_everything(cluster, host_before):
    pids = daemon_pids()
    assert pids, "no daemon pid files after up"
    t0 = time.monotonic()
    down = run("down", timeout=60)
    elapsed = time.monotonic() - t0
    print(f"\n{down.stderr.strip()} (wall {elapsed:.1f} s)")
    assert down.returncode == 0, down.stderr
    assert elapsed <= 10, f"down took {elapsed:.1f}s"
    for name, pid in pids.items():
        state = sh(f"ps -o stat= -p {pid}").strip()
        assert state in ("",) or state.startswith("Z"), f"{name} (pid {pid}) still runs: {state}"
    assert leftovers() == []
    after = host_snapshot()
    assert after == host_before
    st = run("status")
    assert st.returncode != 0
    # No kubeconfig is left that points at the address that no longer exists.
    assert not Path(run("kubeconfig", check=True).stdout.strip()).exists()
    # down is idempotent
    again = run("down", timeout=60)
    assert again.returncode == 0, again.stderr
    assert leftovers() == []
