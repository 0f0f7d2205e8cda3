"""Lifecycle tests of scripts/local-cluster: up, status, info, idempotence, and a clean down.

They start a real cluster (root, network namespaces, a prior `scripts/local-cluster build`),
so they run only with NETPOL_LOCAL_CLUSTER=1.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    os.environ.get("NETPOL_LOCAL_CLUSTER") != "1",
    reason="starts a real local cluster: set NETPOL_LOCAL_CLUSTER=1 (needs root and "
    "a prior `scripts/local-cluster build`)",
)

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "local-cluster"
CNI = os.environ.get("NETPOL_LOCAL_CLUSTER_CNI", "kube-router")
CACHE = (
    Path(os.environ.get("NETPOL_CACHE", str(Path.home() / ".cache" / "netpol-conformance")))
    / "local-cluster"
    / "v1"
)
RUN_DIR = CACHE / "run"
SOCK_DIR = Path("/run/netpol-local-cluster")
OUR_NETNS = ("npc-node", "npc-ext")
OUR_LINKS = ("npc-host",)
CGROUP_ROOT = "netpol-local-cluster"


def run(*args: str, timeout: float = 300, check: bool = False) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"local-cluster {' '.join(args)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
        )
    return proc


def sh(cmd: str) -> str:
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=30).stdout


def host_snapshot() -> dict[str, object]:
    """What `up` may touch on the host, in a form comparable before and after."""
    iptables = re.sub(r"\[\d+:\d+\]", "", sh("iptables-save 2>/dev/null | grep -v '^#'"))
    return {
        "netns": sorted(sh("ip netns list | awk '{print $1}'").split()),
        "links": sorted(sh("ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1").split()),
        "iptables": iptables,
        "ipsets": sorted(sh("ipset list -n 2>/dev/null").split()),
        "mounts": sorted(sh("findmnt -rn -o TARGET").splitlines()),
    }


def leftovers() -> list[str]:
    """Everything made by `up` that is still there."""
    found: list[str] = []
    netns = sh("ip netns list | awk '{print $1}'").split()
    found += [f"netns {n}" for n in netns if n in OUR_NETNS or n.startswith("cni-")]
    links = sh("ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1").split()
    found += [f"link {n}" for n in links if n in OUR_LINKS]
    for m in sh("findmnt -rn -o TARGET").splitlines():
        if m.startswith((str(RUN_DIR), str(SOCK_DIR))) or m.rsplit("/", 1)[-1] in OUR_NETNS:
            found.append(f"mount {m}")
    for hier in Path("/sys/fs/cgroup").iterdir():
        if (hier / CGROUP_ROOT).exists():
            found.append(f"cgroup {hier / CGROUP_ROOT}")
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cg = (p / "cgroup").read_text()
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"pids:/{CGROUP_ROOT}" in cg or str(SOCK_DIR) in cmd or str(RUN_DIR) in cmd:
            found.append(f"process {p.name}: {cmd[:120]}")
    if SOCK_DIR.exists():
        found.append(f"dir {SOCK_DIR}")
    found += [f"file {f}" for f in Path("/var/lib/cni/results").glob("netpol-local-*")]
    shims = Path("/run/containerd/s")
    if shims.is_dir() and not Path("/run/containerd/containerd.sock").exists():
        found += [f"shim socket {f}" for f in shims.iterdir()]
    return found


def daemon_pids() -> dict[str, int]:
    pids = {}
    for f in (RUN_DIR / "pids").glob("*.pid"):
        pids[f.stem] = int(f.read_text().strip())
    return pids


@pytest.fixture(scope="module")
def host_before():
    # Start from nothing, remember the host as it was.
    down = run("down", timeout=60)
    assert down.returncode == 0, down.stderr
    assert leftovers() == []
    return host_snapshot()


@pytest.fixture(scope="module")
def cluster(host_before):
    t0 = time.monotonic()
    run("up", "--cni", CNI, timeout=600, check=True)
    up_seconds = time.monotonic() - t0
    yield {"up_seconds": up_seconds}
    run("down", timeout=60)


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
    }
    assert info["cni"] == CNI
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


def test_up_twice_is_idempotent(cluster):
    before = daemon_pids()
    assert "kube-apiserver" in before and "kubelet" in before
    t0 = time.monotonic()
    again = run("up", "--cni", CNI, timeout=300)
    elapsed = time.monotonic() - t0
    assert again.returncode == 0, again.stderr
    assert elapsed < 20, f"second up took {elapsed:.1f}s: it restarted the cluster"
    assert daemon_pids() == before, "second up restarted daemons"
    assert run("status").returncode == 0


def test_bad_arguments_fail_clearly_and_leave_the_cluster_alone(cluster):
    bad = run("up", "--cni", "no-such-cni")
    assert bad.returncode != 0
    assert "kube-router or bridge" in bad.stderr
    unknown = run("frobnicate")
    assert unknown.returncode != 0 and "unknown subcommand" in unknown.stderr
    assert run("status").returncode == 0


def test_up_with_the_other_cni_restarts_with_it(cluster):
    other = "bridge" if CNI == "kube-router" else "kube-router"
    run("up", "--cni", other, timeout=300, check=True)
    assert json.loads(run("info", check=True).stdout)["cni"] == other
    assert ("kube-router" in daemon_pids()) == (other == "kube-router")
    # and back, so the remaining tests see the cluster they expect
    run("up", "--cni", CNI, timeout=300, check=True)
    assert json.loads(run("info", check=True).stdout)["cni"] == CNI
    assert run("status").returncode == 0


def test_down_removes_everything(cluster, host_before):
    pids = daemon_pids()
    assert pids, "no daemon pid files after up"
    t0 = time.monotonic()
    down = run("down", timeout=60)
    elapsed = time.monotonic() - t0
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
