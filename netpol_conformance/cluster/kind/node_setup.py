"""What the kind provider does inside each node: br_netfilter before the CNI is installed, and
after it is Ready, the proof that its policy engine runs where the CNI fails open without one.

kindnet (kind >= v0.24) enforces NetworkPolicy through an NFQUEUE: its agent programs an
nftables table (``inet kindnet-network-policies``) that queues new flows to itself for a
verdict. It is configured to fail open: when the kernel has no ``nfnetlink_queue`` the engine
logs one line and stops, no table is made, and every flow is let through while the kindnet
DaemonSet is Ready. A run on such a host would report every deny as a kindnet bug; this check
stops it first with one line saying how to fix the host.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from netpol_conformance.cluster.kind.commands import Heartbeat, Runner
from netpol_conformance.cluster.kind.install_steps import BR_NETFILTER_MISSING, br_netfilter_script
from netpol_conformance.errors import SetupError

POLL_SECONDS = 2.0
NOT_FOUND = 127  # the shell's "command not found"


def enable_br_netfilter(run: Runner, nodes: Sequence[str], cni: str, heartbeat: Heartbeat) -> None:
    for node in nodes:
        heartbeat.say(f"kind: enabling br_netfilter on {node}")
        result = run(["docker", "exec", node, "sh", "-c", br_netfilter_script()], timeout=120)
        if result.returncode == BR_NETFILTER_MISSING:
            raise SetupError(
                f"--cni {cni} on kind needs the br_netfilter kernel module and the node {node} "
                "cannot load it (Docker >= 27.3 no longer does): run `sudo modprobe "
                "br_netfilter` on the Docker host and run again"
            )
        if result.returncode != 0:
            raise SetupError(
                f"enabling br_netfilter on {node} failed: {result.stderr.strip()[-500:]}"
            )


def wait_for_policy_tables(
    run: Runner,
    nodes: Sequence[str],
    table: str,
    cni: str,
    heartbeat: Heartbeat,
    timeout: float = 90.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Wait until ``table`` (``FAMILY NAME``) exists in the nftables of every node; SetupError
    naming the nodes without it after ``timeout`` seconds. The engine makes it once the agent
    has read the cluster's policies, a few seconds after its pod is Ready."""
    deadline = clock() + timeout
    waiting = list(nodes)
    while True:
        still = []
        for node in waiting:
            result = run(
                ["docker", "exec", node, "nft", "list", "table", *table.split()], timeout=30
            )
            if result.returncode == NOT_FOUND:
                raise SetupError(
                    f"cannot check that {cni}'s policy engine runs: the node {node} has no `nft` "
                    "command (a node image older than kind v0.24's?); use the pinned node image "
                    "(drop --kind-image) or another --cni"
                )
            if result.returncode != 0:
                still.append(node)
        if not still:
            heartbeat.say(f"kind: {cni}'s policy engine runs on {len(nodes)} node(s) ({table})")
            return
        if clock() > deadline:
            raise SetupError(
                f"{cni}'s network policy engine is not running on {', '.join(still)}: no "
                f"nftables table {table} {timeout:.0f}s after {cni} was Ready, so {cni} lets "
                "every flow through (it fails open) and every deny would look like its bug. It "
                "needs the nfnetlink_queue kernel module on the Docker host: run `sudo modprobe "
                "nfnetlink_queue` and run again (its log: kubectl -n kube-system logs ds/kindnet)"
            )
        heartbeat.tick(f"kind: waiting for {cni}'s policy table {table} on {', '.join(still)}")
        waiting = still
        sleep(POLL_SECONDS)
