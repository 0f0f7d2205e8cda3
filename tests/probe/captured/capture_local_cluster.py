"""Prove the UDP probe and the new server ports on the real local cluster, and capture outputs.

    sudo scripts/local-cluster up --cni kube-router
    sudo python3 tests/probe/captured/capture_local_cluster.py   # rewrites cluster-kube-router-*
    sudo scripts/local-cluster down

Two test pods (the suite's own pod template and nginx config) in one namespace; from the
client: UDP 5432, UDP 53, TCP 53 and TCP 80 to the server, open and then under a
default-deny-ingress policy (kube-router rejects). Each tool's raw output is written to
``cluster-kube-router-*.txt`` (kubectl exec of the exact probe command), and the same probes go
through the suite's ProbeRunner (one batch per exec over the API). Also captured: what kubectl
prints when the probe container is gone ("unable to upgrade connection").
"""

from __future__ import annotations

import copy
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from netpol_conformance.cluster.providers import LocalProvider  # noqa: E402
from netpol_conformance.cni import profile  # noqa: E402
from netpol_conformance.plan.layout import load_layout  # noqa: E402
from netpol_conformance.probe.commands import (  # noqa: E402
    ProbeSettings,
    curl_argv,
    dig_argv,
    udp_argv,
)
from netpol_conformance.probe.outcome import Outcome  # noqa: E402
from netpol_conformance.probe.runner import ProbeRunner  # noqa: E402
from netpol_conformance.probe.spec import DNS, TCP, UDP, Probe, ProbeTarget  # noqa: E402

NS = "npc-probe-proof"
SETTINGS = ProbeSettings()
DENY = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "default-deny-ingress", "namespace": NS},
    "spec": {"podSelector": {"matchLabels": {"app": "server"}}, "policyTypes": ["Ingress"]},
}


def kubectl(kubeconfig: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    binary = Path.home() / ".cache/netpol-conformance/local-cluster/v1/bin/kubectl"
    return subprocess.run(
        [str(binary), "--kubeconfig", kubeconfig, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=check,
    )


def pods(images: dict[str, str]) -> list[dict[str, Any]]:
    layout = load_layout()
    cfg = copy.deepcopy(layout.server_config)
    cfg["metadata"]["namespace"] = NS
    out: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        cfg,
    ]
    for name in ("server", "client"):
        doc = copy.deepcopy(layout.pod_template)
        doc["metadata"] = {"name": name, "namespace": NS, "labels": {"app": name}}
        for c in doc["spec"]["containers"]:
            c["image"], c["imagePullPolicy"] = images[c["name"]], "Never"
        out.append(doc)
    # A running pod whose probe container has exited: kubectl exec reaches the kubelet, which
    # cannot attach to the container.
    ended = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "ended", "namespace": NS},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "keep",
                    "image": images["probe"],
                    "imagePullPolicy": "Never",
                    "command": ["sleep", "infinity"],
                },
                {
                    "name": "probe",
                    "image": images["probe"],
                    "imagePullPolicy": "Never",
                    "command": ["true"],
                },
            ],
        },
    }
    return [*out, ended]


def capture(kubeconfig: str, name: str, argv: list[str], setup: str) -> tuple[int, str]:
    cmd = ["exec", "-n", NS, "client", "-c", "probe", "--", *argv]
    started = time.monotonic()
    result = kubectl(kubeconfig, *cmd, check=False)
    took = time.monotonic() - started
    header = [
        f"#> command: kubectl {shlex.join(cmd)}",
        f"#> setup: local cluster, --cni kube-router; {setup}",
        "#> tool: the local cluster's probe image (Debian bookworm)",
        f"#> took: {took:.1f}s",
    ]
    output = (
        result.stdout if not result.stdout or result.stdout.endswith("\n") else result.stdout + "\n"
    )
    text = "\n".join(header) + "\n" + output + f"rc={result.returncode}\n"
    (HERE / f"cluster-kube-router-{name}.txt").write_text(text)
    print(f"{name}: rc={result.returncode} in {took:.1f}s: {result.stdout.strip()[-120:]!r}")
    return result.returncode, result.stdout


def main() -> int:
    provider = LocalProvider(profile("kube-router"), ROOT / "scripts" / "local-cluster")
    info = provider.prepare(print)
    backend = provider.connect(info)
    kubeconfig = info.kubeconfig
    assert kubeconfig
    for doc in pods(info.images):
        backend.apply([doc])
    kubectl(
        kubeconfig,
        "wait",
        "-n",
        NS,
        "--for=condition=Ready",
        "pod/server",
        "pod/client",
        "--timeout=120s",
    )
    probe_state = '{.status.containerStatuses[?(@.name=="probe")].state.terminated.reason}'
    for _ in range(60):
        state = kubectl(
            kubeconfig, "get", "pod", "-n", NS, "ended", "-o", f"jsonpath={probe_state}"
        )
        if state.stdout.strip() == "Completed":
            break
        time.sleep(1)
    ip, client_ip = (
        kubectl(
            kubeconfig, "get", "pod", "-n", NS, pod, "-o", "jsonpath={.status.podIP}"
        ).stdout.strip()
        for pod in ("server", "client")
    )
    ports = iter(range(21000, 22000))  # a source port of its own for each datagram capture
    name = "kubernetes.default.svc.cluster.local"
    probes = {
        "udp-5432": (
            lambda: udp_argv(ip, 5432, SETTINGS, next(ports)),
            Probe("c", UDP, "s", 5432, "UDP"),
        ),
        "udp-53": (
            lambda: udp_argv(ip, 53, SETTINGS, next(ports)),
            Probe("c", UDP, "s", 53, "UDP"),
        ),
        "tcp-53": (lambda: curl_argv(ip, 53, SETTINGS), Probe("c", TCP, "s", 53)),
        "tcp-80": (lambda: curl_argv(ip, 80, SETTINGS), Probe("c", TCP, "s", 80)),
        "dns": (
            lambda: dig_argv(name, SETTINGS, next(ports), client_ip),
            Probe("c", DNS, "dns", 53, "UDP", name),
        ),
    }
    runner = ProbeRunner(backend, SETTINGS)
    targets = [
        ProbeTarget(p, NS, "client", "" if p.kind == DNS else ip, client_ip)
        for _, p in probes.values()
    ]
    failures = []

    def check(phase: str, expected: dict[str, Outcome]) -> None:
        observed = runner.run(targets)
        for key, (_, probe) in probes.items():
            got = observed[probe]
            print(f"  runner {phase} {key}: {got} ({got.detail[:80]!r})")
            if got.outcome is not expected[key]:
                failures.append(f"{phase} {key}: expected {expected[key]}, observed {got}")

    for key, (argv, _) in probes.items():
        capture(kubeconfig, f"open-{key}", argv(), "no policy")
    check(
        "open",
        {
            "udp-5432": Outcome.CONNECTED,
            "udp-53": Outcome.CONNECTED,
            "tcp-53": Outcome.CONNECTED,
            "tcp-80": Outcome.CONNECTED,
            "dns": Outcome.DNS_OK,
        },
    )

    backend.apply([DENY])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rc, _ = capture(kubeconfig, "denied-udp-5432", probes["udp-5432"][0](), "waiting")
        if rc != 0:
            break
        time.sleep(1)
    time.sleep(1)
    for key, (argv, _) in probes.items():
        if key != "dns":
            capture(kubeconfig, f"denied-{key}", argv(), "default-deny-ingress on the server pod")
    check(
        "denied",
        {
            "udp-5432": Outcome.REFUSED,
            "udp-53": Outcome.REFUSED,
            "tcp-53": Outcome.REFUSED,
            "tcp-80": Outcome.REFUSED,
            "dns": Outcome.DNS_OK,
        },
    )
    for port, protocol in ((5432, "UDP"), (53, "UDP"), (53, "TCP")):
        ok = runner.listening(NS, "server", port, protocol)
        print(f"  control probe {protocol} {port} inside the server pod: listening={ok}")
        if not ok:
            failures.append(f"control probe {protocol} {port}: not listening")

    cmd = ["exec", "-n", NS, "ended", "-c", "probe", "--", *probes["dns"][0]()]
    result = kubectl(kubeconfig, *cmd, check=False)
    (HERE / "cluster-kube-router-exec-container-gone.txt").write_text(
        f"#> command: kubectl {shlex.join(cmd)}\n"
        "#> setup: local cluster, --cni kube-router; the pod runs, its probe container has exited\n"
        "#> tool: kubectl v1.34.4 (the local cluster's)\n"
        f"{result.stdout.rstrip()}\nrc={result.returncode}\n"
    )
    print(f"exec-container-gone: rc={result.returncode}: {result.stdout.strip()!r}")
    kubectl(kubeconfig, "delete", "namespace", NS, "--wait=false")
    for f in failures:
        print(f"FAIL {f}")
    print("all as expected" if not failures else f"{len(failures)} unexpected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
