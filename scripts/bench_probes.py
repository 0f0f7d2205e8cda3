#!/usr/bin/env python3
"""Probe engine benchmark against the local cluster (scripts/local-cluster up --cni kube-router).

Prints, measured in one run:
  1. a 9-pod, 81-probe matrix with about half the probes denied, timed
     (a) the tutorial's way: one `kubectl exec ... curl` per probe, in sequence, and
     (b) the suite's engine: one exec per source pod, all pods concurrently,
     under a rejecting deny (kube-router's NetworkPolicy) and under a dropping deny
     (iptables DROP rules in the node's network namespace);
  2. the wall time of the whole tutorial suite with `-n auto` and with `-n 0`.
Targets: (b) <= probe timeout + 1.5 s, and (b) at least 10x faster than (a).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netpol_conformance.cluster.base import ClusterInfo  # noqa: E402
from netpol_conformance.cluster.kube import KubeBackend  # noqa: E402
from netpol_conformance.plan.layout import load_layout  # noqa: E402
from netpol_conformance.probe.commands import ProbeSettings, curl_argv  # noqa: E402
from netpol_conformance.probe.outcome import Outcome  # noqa: E402
from netpol_conformance.probe.runner import ProbeRunner  # noqa: E402
from netpol_conformance.probe.spec import TCP, Probe, ProbeTarget  # noqa: E402

NODE_NETNS = "npc-node"
PODS = [f"p{i}" for i in range(9)]
DENIED = set(PODS[5:])  # ingress to these is denied: 9 x 4 - 4 self = 32 of 81 probes


def local_info() -> dict:
    out = subprocess.run(
        [str(ROOT / "scripts/local-cluster"), "info"], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def pod_manifest(ns: str, name: str, image: str) -> dict:
    layout = load_layout()
    doc = json.loads(json.dumps(layout.pod_template))
    doc["metadata"] = {
        "name": name,
        "namespace": ns,
        "labels": {"half": "b" if name in DENIED else "a", "netpol-conformance.io/managed": "true"},
    }
    for c in doc["spec"]["containers"]:
        c["image"], c["imagePullPolicy"] = image, "Never"
    return doc


def setup(backend: KubeBackend, ns: str, image: str) -> dict[str, str]:
    layout = load_layout()
    cfg = json.loads(json.dumps(layout.server_config))
    cfg["metadata"]["namespace"] = ns
    backend.apply(
        [
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": ns,
                    "labels": {
                        "netpol-conformance.io/managed": "true",
                        "netpol-conformance.io/run": ns,
                    },
                },
            },
            cfg,
        ]
    )
    backend.apply([pod_manifest(ns, p, image) for p in PODS])
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        states = {s.name: s for s in backend.pods([ns])}
        if len(states) == 9 and all(s.ready and s.ip for s in states.values()):
            return {n: s.ip for n, s in states.items()}
        time.sleep(1)
    raise SystemExit("bench: pods did not become ready in 180 s")


def targets(ns: str, ips: dict[str, str]) -> list[ProbeTarget]:
    return [
        ProbeTarget(Probe(src, TCP, dst, 80), ns, src, ips[dst]) for src in PODS for dst in PODS
    ]


def sequential(kubeconfig: str, ts: list[ProbeTarget], settings: ProbeSettings) -> float:
    kubectl = shutil.which("kubectl") or str(
        Path.home() / ".cache/netpol-conformance/local-cluster/v1/bin/kubectl"
    )
    start = time.monotonic()
    for t in ts:
        subprocess.run(
            [
                kubectl,
                "--kubeconfig",
                kubeconfig,
                "exec",
                "-n",
                t.namespace,
                t.pod,
                "-c",
                "probe",
                "--",
                *curl_argv(t.address, 80, settings),
            ],
            capture_output=True,
            check=False,
        )
    return time.monotonic() - start


def batched(runner: ProbeRunner, ts: list[ProbeTarget]) -> tuple[float, dict]:
    start = time.monotonic()
    results = runner.run(ts)
    return time.monotonic() - start, results


def count(results: dict) -> str:
    from collections import Counter

    c = Counter(o.outcome.value for o in results.values())
    return ", ".join(f"{k} {v}" for k, v in sorted(c.items()))


def iptables_drop(ips: list[str], add: bool) -> None:
    for ip in ips:
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                NODE_NETNS,
                "iptables",
                "-I" if add else "-D",
                "FORWARD",
                "-d",
                ip,
                "-p",
                "tcp",
                "--dport",
                "80",
                "-j",
                "DROP",
            ],
            check=True,
        )


def suite_time(workers: str) -> float:
    start = time.monotonic()
    rc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "suites",
            "--cluster",
            "local",
            "--cni",
            "kube-router",
            "-n",
            workers,
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - start
    if rc.returncode != 0:
        print(rc.stdout[-3000:])
        raise SystemExit(f"bench: the suite failed with -n {workers}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-suite", action="store_true", help="only the 81-probe matrix")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    info = local_info()
    if info["cni"] != "kube-router":
        raise SystemExit("bench: needs scripts/local-cluster up --cni kube-router")
    backend = KubeBackend(ClusterInfo("local", "kube-router", info["kubeconfig"], "netpol-local"))
    settings = ProbeSettings(timeout=2.0)
    runner = ProbeRunner(backend, settings)
    ns = f"npc-bench-{int(time.time()) % 100000}"
    ok = True
    try:
        ips = setup(backend, ns, info["images"]["probe"])
        ts = targets(ns, ips)
        print(f"matrix: {len(PODS)} pods, {len(ts)} probes, {9 * len(DENIED) - len(DENIED)} denied")
        backend.apply(
            [
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {"name": "deny-half", "namespace": ns},
                    "spec": {
                        "podSelector": {"matchLabels": {"half": "b"}},
                        "policyTypes": ["Ingress"],
                    },
                }
            ]
        )
        time.sleep(3)
        for style in ("reject", "drop"):
            if style == "drop":
                backend.delete(
                    [{"kind": "NetworkPolicy", "metadata": {"name": "deny-half", "namespace": ns}}]
                )
                time.sleep(3)
                iptables_drop([ips[p] for p in DENIED], add=True)
            try:
                b, results = batched(runner, ts)
                a = sequential(info["kubeconfig"], ts, settings)
            finally:
                if style == "drop":
                    iptables_drop([ips[p] for p in DENIED], add=False)
            errors = sum(1 for o in results.values() if o.outcome is Outcome.EXEC_ERROR)
            target_ok = b <= settings.timeout + 1.5 and a / b >= 10 and errors == 0
            ok &= target_ok
            print(
                f"{style:6} deny: (a) kubectl exec per probe {a:6.1f} s | (b) batched {b:5.2f} s "
                f"| {a / b:5.1f}x | {count(results)} | {'ok' if target_ok else 'MISSED'}"
            )
    finally:
        backend.delete_namespaces(f"netpol-conformance.io/run={ns}")
    if not args.skip_suite:
        n_auto = suite_time("auto")
        n_0 = suite_time("0")
        print(f"whole suite: -n auto {n_auto:.0f} s, -n 0 {n_0:.0f} s ({n_0 / n_auto:.2f}x)")
        ok &= n_auto < n_0
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
