"""`up --icmp-ratelimit off|default`: the node's ICMP rate limit, changed in place.

kube-router answers a denied connection with an ICMP port-unreachable sent by the node. With
the kernel's default rate limit (a burst of 6 per peer, then one per `icmp_ratelimit` ms) most
rejects of a burst are never sent and the client times out, as on a stock node; with `off`
every one is sent.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from local_cluster_helpers import (
    CNI,
    CURL_REFUSED,
    CURL_TIMEOUT,
    NAMESPACE,
    POLICY_YAML,
    daemon_pids,
    enforced,
    in_node,
    info,
    kubectl,
    probe_pairs,
    run,
    wait_until,
)

pytestmark = pytest.mark.local_cluster

BURST = 20  # parallel denied connections, well over the kernel's burst of 6
OUT = {"capture_output": True, "text": True, "check": True, "timeout": 30}


def node_sysctl(name: str) -> int:
    return int(in_node(f"sysctl -n {name}"))


def fresh_namespace_sysctl(name: str) -> int:
    """NAME's value in a new network namespace: the kernel's default."""
    return int(subprocess.run(["unshare", "--net", "sysctl", "-n", name], **OUT).stdout)


def denied_burst() -> list[int]:
    """curl exit codes of BURST simultaneous connections that the policy denies."""
    denied = probe_pairs()["denied"]
    with ThreadPoolExecutor(BURST) as pool:
        return [s.rc for s in pool.map(lambda _: denied.probe(timeout=2), range(BURST))]


@pytest.fixture(scope="module")
def policy(probe_pods):
    kubectl("apply", "-f", "-", stdin=POLICY_YAML)
    wait_until(lambda: enforced(probe_pairs()), what="the policy to be enforced")
    yield
    kubectl("-n", NAMESPACE, "delete", "networkpolicy", "--all")
    run("up", "--cni", CNI, timeout=300, check=True)  # back to the default: off


def test_default_restores_the_kernel_default_in_place(cluster):
    pids = daemon_pids()
    assert node_sysctl("net.ipv4.icmp_ratelimit") == 0
    run("up", "--cni", CNI, "--icmp-ratelimit", "default", timeout=300, check=True)
    v4, v6 = "net.ipv4.icmp_ratelimit", "net.ipv6.icmp.ratelimit"
    assert node_sysctl(v4) == fresh_namespace_sysctl(v4) > 0
    assert node_sysctl(v6) == fresh_namespace_sysctl(v6) > 0
    assert info()["icmp_ratelimit"] == "default"
    assert info()["icmp_ratelimit_ms"] == fresh_namespace_sysctl(v4)
    status = run("status")
    assert status.returncode == 0 and "icmp-ratelimit=default" in status.stdout
    assert daemon_pids() == pids, "changing the ICMP rate limit restarted daemons"
    run("up", "--cni", CNI, "--icmp-ratelimit=off", timeout=300, check=True)
    assert node_sysctl("net.ipv4.icmp_ratelimit") == 0
    assert node_sysctl("net.ipv6.icmp.ratelimit") == 0
    assert info()["icmp_ratelimit"] == "off" and info()["icmp_ratelimit_ms"] == 0
    assert daemon_pids() == pids


@pytest.mark.skipif(CNI != "kube-router", reason="needs a rejecting CNI (kube-router)")
def test_the_limit_turns_rejects_into_timeouts(policy):
    run("up", "--cni", CNI, "--icmp-ratelimit", "off", timeout=300, check=True)
    off = denied_burst()
    assert off == [CURL_REFUSED] * BURST, off
    run("up", "--cni", CNI, "--icmp-ratelimit", "default", timeout=300, check=True)
    limited = denied_burst()
    assert set(limited) <= {CURL_REFUSED, CURL_TIMEOUT}, limited
    assert limited.count(CURL_TIMEOUT) >= 1, limited
    print(f"\n{BURST} denied connections at once: off {off}; default {limited}")
