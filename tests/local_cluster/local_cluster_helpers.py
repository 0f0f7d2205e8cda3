"""Shared helpers of the local cluster tests: run the script, look at the host and the node,
deploy a server and two clients, and probe pod to pod from the pods' own network namespaces.

Probes run `curl` inside a pod's network namespace (nsenter into one of the pod's processes),
so they leave from the pod's address and cross the node's bridge and firewall like traffic
from the pod itself, at a fraction of the cost of a `kubectl exec`. They are only ever aimed at
pod addresses while `status` says the cluster is up.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "local-cluster"
LC_DIR = REPO / "scripts" / "local_cluster"
CNI = os.environ.get("NETPOL_LOCAL_CLUSTER_CNI", "kube-router")
CACHE = (
    Path(os.environ.get("NETPOL_CACHE", str(Path.home() / ".cache" / "netpol-conformance")))
    / "local-cluster"
    / "v1"
)
RUN_DIR = CACHE / "run"
SOCK_DIR = Path("/run/netpol-local-cluster")
KUBECTL = CACHE / "bin" / "kubectl"
OUR_NETNS = ("npc-node", "npc-node2", "npc-ext")
OUR_LINKS = ("npc-host", "npc-lan1", "npc-lan2")
CGROUP_ROOT = "netpol-local-cluster"
PIDS_CGROUP = Path("/sys/fs/cgroup/pids") / CGROUP_ROOT

CURL_OK, CURL_REFUSED, CURL_TIMEOUT = 0, 7, 28


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


def info() -> dict:
    return json.loads(run("info", check=True).stdout)


def kubectl(*args: str, stdin: str | None = None, timeout: float = 120) -> str:
    assert run("status").returncode == 0, "the local cluster is not up"
    proc = subprocess.run(
        [str(KUBECTL), "--kubeconfig", info()["kubeconfig"], *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
    return proc.stdout


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
    return {f.stem: int(f.read_text().strip()) for f in (RUN_DIR / "pids").glob("*.pid")}


def in_node(cmd: str) -> str:
    return sh(f"ip netns exec npc-node {cmd}")


# ---------------------------------------------------------------- events of `cni` operations


def events(stdout: str) -> list[tuple[str, str, datetime]]:
    """The "AGENT EVENT UTC-TIME" lines that `cni restart` and `cni switch` print."""
    found = []
    for line in stdout.splitlines():
        agent, event, stamp = line.split()
        assert stamp.endswith("Z"), line
        found.append((agent, event, datetime.fromisoformat(stamp)))
    return found


# ---------------------------------------------------------------- pods and probes

NAMESPACE = "lc-probe"

PODS_YAML = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NAMESPACE}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: web, namespace: {NAMESPACE}}}
data:
  default.conf: |
    server {{ listen 80; location / {{ return 200 "ok\\n"; }} }}
---
apiVersion: v1
kind: Pod
metadata: {{name: server, namespace: {NAMESPACE}, labels: {{app: server}}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: nginx
    image: netpol-conformance.local/probe:v1
    imagePullPolicy: Never
    command: [nginx, -g, "daemon off;"]
    volumeMounts:
    - {{name: web, mountPath: /etc/nginx/conf.d/default.conf, subPath: default.conf}}
  volumes:
  - name: web
    configMap: {{name: web}}
""" + "".join(
    f"""---
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {NAMESPACE}, labels: {{app: {name}}}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {{name: probe, image: netpol-conformance.local/probe:v1, imagePullPolicy: Never}}
"""
    for name in ("allowed", "denied")
)

# The server admits the pod `allowed` only.
POLICY_YAML = f"""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: server-from-allowed, namespace: {NAMESPACE}}}
spec:
  podSelector: {{matchLabels: {{app: server}}}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {{matchLabels: {{app: allowed}}}}
"""


def pod_uids() -> dict[str, str]:
    pods = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-o", "json"))["items"]
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods}


def pods_running() -> dict[str, tuple[str, int]]:
    """Each pod's phase and its containers' restart count."""
    pods = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-o", "json"))["items"]
    return {
        p["metadata"]["name"]: (
            p["status"]["phase"],
            sum(c["restartCount"] for c in p["status"].get("containerStatuses", [])),
        )
        for p in pods
    }


def pod_netns(uid: str) -> str:
    """/proc/PID/ns/net of a process of the pod with this UID (found by its cgroup)."""
    for procs in PIDS_CGROUP.rglob("cgroup.procs"):
        if f"pod{uid}" in str(procs.parent):
            pids = procs.read_text().split()
            if pids:
                return f"/proc/{pids[0]}/ns/net"
    raise AssertionError(f"no process of pod {uid} under {PIDS_CGROUP}")


@dataclass(frozen=True)
class Sample:
    pair: str
    start: float  # time.time() when curl started
    end: float
    rc: int  # curl's exit code: 0 connected, 7 refused, 28 timed out


@dataclass(frozen=True)
class Pair:
    name: str
    netns: str
    url: str

    def probe(self, timeout: float = 1.0) -> Sample:
        curl = ["curl", "-s", "-o", "/dev/null", "-m", str(timeout), self.url]
        start = time.time()
        rc = subprocess.run(
            ["nsenter", f"--net={self.netns}", *curl],
            capture_output=True,
            timeout=timeout + 10,
        ).returncode
        return Sample(self.name, start, time.time(), rc)


def probe_pairs() -> dict[str, Pair]:
    """allowed -> server:80 and denied -> server:80."""
    server_ip = kubectl("-n", NAMESPACE, "get", "pod", "server", "-o", "jsonpath={.status.podIP}")
    uids = pod_uids()
    return {
        name: Pair(name, pod_netns(uids[name]), f"http://{server_ip}:80/")
        for name in ("allowed", "denied")
    }


class Prober:
    """Probes each pair every `interval` seconds in its own thread until stopped."""

    def __init__(self, pairs: list[Pair], interval: float = 0.1) -> None:
        self.pairs, self.interval = pairs, interval
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._loop, args=(p,)) for p in pairs]

    def _loop(self, pair: Pair) -> None:
        while not self._stop.is_set():
            sample = pair.probe()
            with self._lock:
                self.samples.append(sample)
            self._stop.wait(self.interval)

    def __enter__(self) -> Prober:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def of(self, pair: str) -> list[Sample]:
        return sorted((s for s in self.samples if s.pair == pair), key=lambda s: s.start)


def wait_until(check: Callable[[], bool], timeout: float = 20, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.1)


def enforced(pairs: dict[str, Pair]) -> bool:
    """The policy is in force: allowed connects, denied is refused or times out."""
    return pairs["allowed"].probe().rc == CURL_OK and pairs["denied"].probe().rc != CURL_OK


def open_to_all(pairs: dict[str, Pair]) -> bool:
    return all(p.probe().rc == CURL_OK for p in pairs.values())


def summary(samples: list[Sample]) -> str:
    counts: dict[int, int] = {}
    for s in samples:
        counts[s.rc] = counts.get(s.rc, 0) + 1
    gaps = [b.start - a.start for a, b in itertools.pairwise(samples)]
    spacing = f", spacing max {max(gaps):.3f} s" if gaps else ""
    return f"{len(samples)} probes, curl exit codes {dict(sorted(counts.items()))}{spacing}"


# A server run by this machine's Python inside a pod's network namespace: TCP accepts and
# closes, UDP answers every datagram with "pong".
_LISTENER = """
import socket, sys
kind, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
if kind == "tcp":
    s.listen(64)
print("ready", flush=True)
while True:
    if kind == "udp":
        data, peer = s.recvfrom(512)
        s.sendto(b"pong", peer)
    else:
        s.accept()[0].close()
"""


@contextlib.contextmanager
def listener(pod: str, kind: str, port: int) -> Iterator[str]:
    """A TCP or UDP server on PORT in POD (of NAMESPACE) while the block runs; yields the
    pod's address."""
    netns = pod_netns(pod_uids()[pod])
    proc = subprocess.Popen(
        ["nsenter", f"--net={netns}", sys.executable, "-c", _LISTENER, kind, str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield kubectl("-n", NAMESPACE, "get", "pod", pod, "-o", "jsonpath={.status.podIP}")
    finally:
        proc.kill()
        proc.wait()


def pod_tcp(pod: str, address: str, port: int, timeout: float = 1.0) -> int:
    """curl's exit code for a connection from POD's network namespace to ADDRESS:PORT."""
    netns = pod_netns(pod_uids()[pod])
    curl = ["curl", "-s", "-o", "/dev/null", "-m", str(timeout), f"telnet://{address}:{port}"]
    return subprocess.run(
        ["nsenter", f"--net={netns}", *curl],
        input="",
        capture_output=True,
        timeout=timeout + 10,
    ).returncode
