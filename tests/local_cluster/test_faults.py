"""`fault`: real breakage of the node's dataplane, held against kube-router's own syncs, and
removed by `fault clear`.

The pair `denied -> server:80` is refused by the policy `server-from-allowed`; each fault must
open exactly what it says, for as long as it is set (kube-router resyncs on every change of a
pod or policy, and puts its own jump first when it finds it elsewhere), and leave the
enforcement as it was once cleared.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from local_cluster_helpers import (
    CNI,
    CURL_OK,
    LC_DIR,
    NAMESPACE,
    POLICY_YAML,
    RUN_DIR,
    Prober,
    daemon_pids,
    enforced,
    in_node,
    info,
    kubectl,
    listener,
    pod_tcp,
    probe_pairs,
    run,
    summary,
    wait_until,
)

pytestmark = [
    pytest.mark.local_cluster,
    pytest.mark.skipif(CNI != "kube-router", reason="faults break kube-router's enforcement"),
]

KEEPER_LOG = RUN_DIR / "logs" / "fault-keeper.log"
# Any change of a pod or a policy makes kube-router resync its rules.
OTHER_POLICY = f"""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: resync-{{n}}, namespace: {NAMESPACE}}}
spec:
  podSelector: {{matchLabels: {{app: nobody}}}}
  policyTypes: [Ingress]
"""


@pytest.fixture(scope="module")
def pairs(probe_pods):
    kubectl("apply", "-f", "-", stdin=POLICY_YAML)
    found = probe_pairs()
    wait_until(lambda: enforced(found), what="the policy to be enforced")
    yield found
    run("fault", "clear")
    kubectl("-n", NAMESPACE, "delete", "networkpolicy", "--all")


@pytest.fixture(autouse=True)
def no_fault_after():
    yield
    run("fault", "clear", check=True)
    assert "NPC-FAULT" not in in_node("iptables -S"), "the fault's chain outlived `fault clear`"


def fault(*args: str) -> str:
    return run("fault", *args, check=True).stdout


def resync(n: int) -> None:
    kubectl("apply", "-f", "-", stdin=OTHER_POLICY.replace("{n}", str(n)))


def moved_back() -> int:
    return KEEPER_LOG.read_text().count("moved back") if KEEPER_LOG.exists() else 0


def test_bypass_opens_one_port_and_holds_through_kube_routers_resyncs(pairs):
    assert pairs["denied"].probe().rc != CURL_OK
    before = moved_back()
    assert "set:bypass tcp/80" in fault("bypass", "tcp/80")
    assert "fault=bypass tcp/80" in run("status", check=True).stdout
    assert info()["fault"] == "bypass tcp/80" and fault().strip() == "bypass tcp/80"
    with Prober([pairs["denied"]], interval=0.02) as prober:
        for n in range(5):  # five resyncs while the denied flow is probed
            resync(n)
            time.sleep(0.4)
    samples = prober.of("denied")
    assert len(samples) > 20 and all(s.rc == CURL_OK for s in samples), summary(samples)
    assert moved_back() == before, "kube-router's syncs moved the fault down"
    first = in_node("iptables -S FORWARD 1")
    assert re.search(r'--comment "netpol-conformance fault, above kube-router netpol - \w+"', first)
    # Only that port: the same pair on another port is still denied.
    with listener("server", "tcp", 8080) as server_ip:
        assert pod_tcp("denied", server_ip, 8080) != CURL_OK
        assert pod_tcp("allowed", server_ip, 8080) == CURL_OK
    fault("clear")
    wait_until(lambda: pairs["denied"].probe().rc != CURL_OK, what="the deny back")


def test_dns_any_opens_port_53_on_tcp_and_udp(pairs):
    with listener("server", "tcp", 53) as server_ip:
        assert pod_tcp("denied", server_ip, 53) != CURL_OK
        fault("dns-any")
        assert pod_tcp("denied", server_ip, 53) == CURL_OK
        assert pairs["denied"].probe().rc != CURL_OK  # port 80 stays denied
    rules = in_node("iptables -S NPC-FAULT")
    assert "-p udp -m udp --dport 53 -j ACCEPT" in rules
    assert "-p tcp -m tcp --dport 53 -j ACCEPT" in rules


def test_flap_opens_everything_for_off_seconds_of_every_period(pairs):
    fault("flap", "1", "0.3")
    with Prober([pairs["denied"]], interval=0.02) as prober:
        time.sleep(4)
    samples = prober.of("denied")
    open_share = sum(s.rc == CURL_OK for s in samples) / len(samples)
    assert 0.1 < open_share < 0.6, summary(samples)
    # open in runs no longer than the window, closed in between
    longest, run_start = 0.0, None
    for s in samples:
        if s.rc == CURL_OK:
            run_start = s.start if run_start is None else run_start
            longest = max(longest, s.end - run_start)
        else:
            run_start = None
    assert 0.1 < longest < 0.3 + 0.3, summary(samples)
    log = KEEPER_LOG.read_text()
    opens = re.findall(r"^open (\S+)$", log, re.MULTILINE)
    assert len(opens) >= 4


def test_stale_rules_keep_the_old_policy_and_miss_every_change(pairs):
    pids = daemon_pids()
    out = fault("stale-rules")
    assert "kube-router stopped" in out and "kube-router" not in daemon_pids()
    assert "fault=stale-rules" in run("status", check=True).stdout  # healthy, on purpose
    assert pairs["denied"].probe().rc != CURL_OK  # the last rules are still there
    kubectl("-n", NAMESPACE, "delete", "networkpolicy", "server-from-allowed")
    time.sleep(2)
    assert pairs["denied"].probe().rc != CURL_OK  # ... and nothing updates them
    assert run("cni", "restart").returncode != 0  # no other operation under a fault
    out = fault("clear")
    assert "kube-router ready" in out and daemon_pids()["kube-router"] != pids["kube-router"]
    wait_until(lambda: pairs["denied"].probe().rc == CURL_OK, what="the deletion enforced")
    kubectl("apply", "-f", "-", stdin=POLICY_YAML)
    wait_until(lambda: enforced(pairs), what="the policy to be enforced again")


def test_up_as_before_clears_a_fault_left_in_force(pairs):
    fault("bypass", "tcp/80")
    assert pairs["denied"].probe().rc == CURL_OK
    icmp = info()["icmp_ratelimit"]
    up = run("up", "--cni", CNI, "--icmp-ratelimit", icmp, check=True)
    assert "fault cleared: bypass" in up.stderr and "as asked again" in up.stderr, up.stderr
    assert info()["fault"] in ("", None) and "NPC-FAULT" not in in_node("iptables -S")
    wait_until(lambda: pairs["denied"].probe().rc != CURL_OK, what="the policy enforced again")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bypass", "sctp/5"), "tcp/PORT or udp/PORT"),
        (("bypass", "udp/0"), "PORT must be 1-65535"),
        (("flap", "1", "2"), "must be shorter than PERIOD"),
        (("flap", "x", "1"), "PERIOD must be a number of seconds"),
        (("flap", "1"), "usage: fault"),
        (("unplug",), "unknown fault 'unplug'"),
    ],
)
def test_bad_faults_are_refused_with_one_line(pairs, args, message):
    result = run("fault", *args)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert run("fault", check=True).stdout.strip() == "none"


def test_the_keeper_script_is_the_daemon_that_runs(pairs):
    fault("bypass", "udp/5432")
    keeper = daemon_pids()["fault-keeper"]
    cmdline = Path(f"/proc/{keeper}/cmdline").read_bytes().split(b"\0")
    assert str(LC_DIR / "fault_keeper.sh").encode() in cmdline
