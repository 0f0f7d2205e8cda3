"""`cni restart` and `cni switch none|kube-router`: the policy controller changes in place,
the pods keep running (same UIDs, no container restarts), and enforcement follows the switch.

Pairs are probed every PROBE_INTERVAL seconds from the pods' own network namespaces while the
operations run, so each test also measures what a client sees during them. Run with -s to see
the figures.
"""

from __future__ import annotations

import time

import pytest
from local_cluster_helpers import (
    CNI,
    CURL_OK,
    NAMESPACE,
    POLICY_YAML,
    Prober,
    Sample,
    daemon_pids,
    enforced,
    events,
    in_node,
    info,
    kubectl,
    pod_uids,
    pods_running,
    probe_pairs,
    run,
    summary,
    wait_until,
)

pytestmark = [
    pytest.mark.local_cluster,
    pytest.mark.skipif(CNI != "kube-router", reason="switches kube-router off and on"),
]

PROBE_INTERVAL = 0.1
RESTARTS = 3
KUBE_ROUTER_CHAINS = ("KUBE-ROUTER-", "KUBE-NWPLCY-", "KUBE-POD-FW-")


@pytest.fixture(scope="module")
def pairs(probe_pods):
    """The probe pods with the policy `server-from-allowed` enforced."""
    kubectl("apply", "-f", "-", stdin=POLICY_YAML)
    found = probe_pairs()
    wait_until(lambda: enforced(found), what="the policy to be enforced")
    yield found
    if info()["cni"] != CNI:
        run("cni", "switch", CNI, check=True)
    kubectl("-n", NAMESPACE, "delete", "networkpolicy", "--all")


def assert_pods_untouched(uids: dict[str, str]) -> None:
    assert pod_uids() == uids, "pods were replaced"
    assert all(v == ("Running", 0) for v in pods_running().values()), pods_running()


def kube_router_rules() -> list[str]:
    rules = in_node("iptables-save -t filter").splitlines()
    sets = in_node("ipset list -n").split()
    return [r for r in rules if any(c in r for c in KUBE_ROUTER_CHAINS)] + [
        s for s in sets if s.startswith(("KUBE-SRC-", "KUBE-DST-"))
    ]


def during(prober: Prober, pair: str, start: float, end: float) -> list[Sample]:
    return [s for s in prober.of(pair) if s.start >= start and s.end <= end]


def test_restart_keeps_pods_and_enforcement(pairs):
    uids, old_pid = pod_uids(), daemon_pids()["kube-router"]
    windows = []
    with Prober(list(pairs.values()), PROBE_INTERVAL) as prober:
        time.sleep(1)
        for _ in range(RESTARTS):
            out = run("cni", "restart", check=True).stdout
            steps = events(out)
            assert [(a, e) for a, e, _ in steps] == [
                ("kube-router", "stopping"),
                ("kube-router", "stopped"),
                ("kube-router", "started"),
                ("kube-router", "ready"),
            ], out
            times = [t.timestamp() for _, _, t in steps]
            assert times == sorted(times), out
            windows.append((times[0], times[-1]))
            time.sleep(0.5)
        time.sleep(1)
    assert daemon_pids()["kube-router"] != old_pid
    status = run("status")
    assert status.returncode == 0 and "cni=kube-router" in status.stdout, status.stdout
    assert_pods_untouched(uids)
    inside = [s for a, b in windows for s in during(prober, "denied", a, b)]
    print(
        f"\ncni restart x{RESTARTS}: stopping->ready "
        + ", ".join(f"{b - a:.3f} s" for a, b in windows)
        + f"\n  allowed: {summary(prober.of('allowed'))}"
        + f"\n  denied: {summary(prober.of('denied'))}; {len(inside)} inside the windows"
    )
    assert inside, "no probe fell inside a restart: the measurement proves nothing"
    # kube-router leaves its rules in place while it is down and replaces them in one
    # iptables-restore when it starts: no denied connection gets through, none allowed fails.
    leaks = [s for s in prober.of("denied") if s.rc == CURL_OK]
    assert not leaks, f"denied connections got through during a restart: {leaks}"
    failed = [s for s in prober.of("allowed") if s.rc != CURL_OK]
    assert not failed, f"allowed connections failed during a restart: {failed}"


def test_switch_none_stops_enforcing_and_removes_kube_routers_rules(pairs):
    uids = pod_uids()
    if info()["cni"] != "kube-router":
        run("cni", "switch", "kube-router", check=True)
    assert kube_router_rules(), "kube-router has no rules to remove"
    with Prober(list(pairs.values()), PROBE_INTERVAL) as prober:
        time.sleep(1)
        out = run("cni", "switch", "none", check=True).stdout
        time.sleep(1)
    steps = events(out)
    assert [e for _, e, _ in steps] == ["stopping", "stopped", "rules-removed"], out
    removed = steps[-1][2].timestamp()

    assert info()["cni"] == "bridge"
    status = run("status")
    assert status.returncode == 0 and "cni=bridge" in status.stdout, status.stdout
    assert "kube-router" not in daemon_pids()
    assert kube_router_rules() == []
    assert "KUBE-SERVICES" in in_node("iptables-save -t filter"), "kube-proxy's rules went too"
    assert_pods_untouched(uids)

    denied = prober.of("denied")
    # rules-removed is stamped just after the iptables-restore that removed them
    before = [s for s in denied if s.end <= removed - 0.1]
    after = [s for s in denied if s.start >= removed]
    assert before and all(s.rc != CURL_OK for s in before), before
    assert after and all(s.rc == CURL_OK for s in after), after
    first_leak = min(s.end for s in denied if s.rc == CURL_OK)
    print(
        f"\ncni switch none: first denied connection through {first_leak - removed:+.3f} s "
        f"after rules-removed\n  denied: {summary(denied)}"
    )
    assert first_leak - removed <= PROBE_INTERVAL + 0.5
    assert all(s.rc == CURL_OK for s in prober.of("allowed"))
    restart = run("cni", "restart")
    assert restart.returncode != 0 and "nothing to restart" in restart.stderr


def test_switch_kube_router_enforces_again(pairs):
    uids = pod_uids()
    if info()["cni"] != "bridge":
        run("cni", "switch", "none", check=True)
    with Prober(list(pairs.values()), PROBE_INTERVAL) as prober:
        time.sleep(1)
        out = run("cni", "switch", "kube-router", check=True).stdout
        time.sleep(1)
    steps = events(out)
    assert [e for _, e, _ in steps] == ["started", "ready"], out
    started, ready = (t.timestamp() for _, _, t in steps)

    assert info()["cni"] == "kube-router"
    status = run("status")
    assert status.returncode == 0 and "cni=kube-router" in status.stdout, status.stdout
    assert kube_router_rules()
    assert_pods_untouched(uids)

    denied = prober.of("denied")
    before = [s for s in denied if s.end <= started]
    after = [s for s in denied if s.start >= ready]
    assert before and all(s.rc == CURL_OK for s in before), before
    assert after and all(s.rc != CURL_OK for s in after), after
    print(
        f"\ncni switch kube-router: started->ready {ready - started:.3f} s"
        f"\n  denied: {summary(denied)}"
    )
    assert all(s.rc == CURL_OK for s in prober.of("allowed"))


def test_switch_to_the_current_cni_changes_nothing(pairs):
    pid = daemon_pids()["kube-router"]
    same = run("cni", "switch", "kube-router", check=True)
    assert same.stdout == "" and "nothing to do" in same.stderr
    assert daemon_pids()["kube-router"] == pid
