"""A UDP probe that reuses an earlier flow's 5-tuple rides its conntrack entry through a deny;
the suite's probe never does.

kube-router's pod chains accept ESTABLISHED traffic before any policy, and Linux keeps a UDP
entry 30 s after its last packet (120 s once it is a stream). So a datagram from the source
port of an allowed probe made moments before is answered although a deny is now in force,
exactly as a probe whose random ephemeral port happens to come back would be. The suite's
probes bind a fresh source port each (probe/ports.py) and are refused.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from local_cluster_helpers import (
    NAMESPACE,
    POLICY_YAML,
    RUN_DIR,
    in_node,
    info,
    kubectl,
    pod_netns,
    pod_uids,
    wait_until,
)

from netpol_conformance.cluster.base import ClusterInfo
from netpol_conformance.cluster.kube import KubeBackend
from netpol_conformance.probe.classify import classify_udp
from netpol_conformance.probe.commands import ProbeSettings, udp_argv
from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.probe.runner import PROBE_CONTAINER, ProbeRunner
from netpol_conformance.probe.spec import UDP, Probe, ProbeTarget

pytestmark = pytest.mark.local_cluster

PORT = 5432
KUBE_ROUTER_LOG = RUN_DIR / "logs" / "kube-router.log"
# A UDP echo server, run by this machine's Python inside the server pod's network namespace.
ECHO = (
    "import socket\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    f"s.bind(('0.0.0.0', {PORT}))\n"
    "print('ready', flush=True)\n"
    "while True:\n"
    "    data, peer = s.recvfrom(512)\n"
    "    s.sendto(b'pong', peer)\n"
)


@pytest.fixture
def udp_server(probe_pods) -> Iterator[str]:
    """The server pod answers UDP on PORT; yields its address. No policy in force."""
    kubectl("-n", NAMESPACE, "delete", "networkpolicy", "--all")
    netns = pod_netns(pod_uids()["server"])
    echo = subprocess.Popen(
        ["nsenter", f"--net={netns}", sys.executable, "-c", ECHO],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert echo.stdout is not None and echo.stdout.readline().strip() == "ready"
        yield kubectl("-n", NAMESPACE, "get", "pod", "server", "-o", "jsonpath={.status.podIP}")
    finally:
        echo.kill()
        echo.wait()
        kubectl("-n", NAMESPACE, "delete", "networkpolicy", "--all")


def backend() -> KubeBackend:
    return KubeBackend(
        ClusterInfo("local", "kube-router", kubeconfig=info()["kubeconfig"], context="netpol-local")
    )


def replay(command: list[str]) -> Outcome:
    """Run a probe command in the `denied` pod, as a person replaying it would."""
    result = backend().exec(NAMESPACE, "denied", PROBE_CONTAINER, command, 30)
    return classify_udp(result.returncode, result.stdout + result.stderr).outcome


def test_the_same_5_tuple_leaks_through_a_deny_and_the_suites_probe_does_not(udp_server):
    settings = ProbeSettings(timeout=2)
    runner = ProbeRunner(backend(), settings)
    target = ProbeTarget(
        Probe(f"{NAMESPACE}/denied", UDP, f"{NAMESPACE}/server", PORT, "UDP"),
        NAMESPACE,
        "denied",
        udp_server,
    )
    # Open: the suite's probe is answered; it bound a port of its own.
    assert runner.run([target])[target.probe].outcome is Outcome.CONNECTED
    first = runner._last_port[target]

    # The server now admits the pod `allowed` only; wait until a fresh flow is refused.
    kubectl("apply", "-f", "-", stdin=POLICY_YAML)
    wait_until(
        lambda: replay(udp_argv(udp_server, PORT, settings, 29999)) is not Outcome.CONNECTED,
        what="the deny to be enforced on fresh UDP flows",
    )
    time.sleep(0.5)

    # Replaying the open-state probe with its source port: the conntrack entry answers.
    reused = replay(udp_argv(udp_server, PORT, settings, first))
    denied_ip = kubectl("-n", NAMESPACE, "get", "pod", "denied", "-o", "jsonpath={.status.podIP}")
    table = in_node(f"conntrack -L -p udp --orig-src {denied_ip} --dport {PORT} 2>/dev/null")
    entry = [ln for ln in table.splitlines() if f"sport={first} " in ln]
    assert reused is Outcome.CONNECTED, f"expected the reused flow to leak; conntrack:\n{table}"
    assert entry and "UNREPLIED" not in entry[0], table
    synced = [ln for ln in KUBE_ROUTER_LOG.read_text().splitlines() if "sync iptables took" in ln]
    print(f"\nkube-router's last sync before the replay: {synced[-1] if synced else 'none'}")
    print(f"the reused 5-tuple's conntrack entry, which answered it: {entry[0].strip()}")

    # The suite's next probe takes a new port: the deny answers.
    observed = runner.run([target])[target.probe]
    assert runner._last_port[target] != first
    assert observed.outcome in (Outcome.REFUSED, Outcome.TIMEOUT), (observed, table)
