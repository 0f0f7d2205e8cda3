#!/usr/bin/env python3
"""Probe engine and suite benchmark against the local cluster (local-cluster up --cni kube-router).

Prints, measured in one run:
  1. a 9-pod, 81-probe matrix with about half the probes denied, timed
     (a) the tutorial's way: one `kubectl exec ... curl` per probe, in sequence, and
     (b) the suite's engine: one exec per source pod, all pods concurrently,
     under a rejecting deny (kube-router's NetworkPolicy) and under a dropping deny
     (iptables DROP rules in the node's network namespace);
  2. the whole tutorial suite with `-n auto` and with `-n 0`: wall time, load average, and the
     seconds per phase read from its results file (deploy = create + wait + control probes,
     baseline, apply, converge, confirm, hold, restore-open, delete, destroy), next to its
     floor: one deployment (the measured deploy + baseline), plus the fewest matrices each
     step needs for its verdict (two to converge, and for a verdict step three more to confirm
     it), plus the hold; one matrix timed from the run's own data (converge and confirm time
     less the waits between polls, over the number of polls);
  3. with --repeat N, first N consecutive `-n auto` runs on the same cluster.
With --results FILE..., no cluster is needed: the same figures (wall time from the file's start
and finish, seconds by phase, busy per process, the floor) for runs already made, e.g. by
`scripts/soak N --out DIR` (DIR/run-*.json), with the spread over runs of one worker count.
Targets: (b) <= probe timeout + 1.5 s and at least 10x faster than (a); the suite with
`-n auto` in at most 2x its floor and faster than with `-n 0`; repeated runs do not grow.
A shared machine's neighbours show in the load average: measure when it is low.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
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
from netpol_conformance.results.load import load_results  # noqa: E402
from netpol_conformance.results.records import StepResult  # noqa: E402
from netpol_conformance.run.convergence import CONFIRM_POLLS  # noqa: E402
from netpol_conformance.run.scenarios import HOLD_STEP, RESTORE_STEP  # noqa: E402

NODE_NETNS = "npc-node"
PODS = [f"p{i}" for i in range(9)]
DENIED = set(PODS[5:])  # ingress to these is denied: 9 x 4 - 4 self = 32 of 81 probes


PHASES = (
    "deploy",
    "baseline",
    "apply",
    "converge",
    "confirm",
    "hold",
    "restore",
    "delete",
    "destroy",
)
POLL_INTERVAL = 0.5  # what --cluster local waits between polls (settings.py)
SIMULATED_POLL_INTERVAL = 0.05  # and --cluster simulated


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


SUMMARY_DESTROY = re.compile(r"time by phase \(.*\bdestroy ([0-9.]+)s")


@dataclass(frozen=True)
class SuiteRun:
    workers: str
    wall: float
    load: tuple[float, float] | None  # 1-minute load average before and after (when measured)
    phases: dict[str, float]  # seconds per phase, summed over the run's processes
    busy: tuple[float, ...]  # seconds of phases per process: how balanced the workers were
    floor: Floor


@dataclass(frozen=True)
class Floor:
    """One deployment (pods Ready, servers proven), the fewest matrices of each step, the hold."""

    deploy: float  # create + wait + control probes + the open baseline, of one deployment
    # (scenario/step, seconds of one matrix, the fewest matrices its verdict takes)
    matrices: tuple[tuple[str, float, int], ...]
    hold: float = 0.0  # seconds the final state is held, whatever the matrices take

    @property
    def total(self) -> float:
        return self.deploy + sum(n * m for _, m, n in self.matrices) + self.hold


def breakdown(steps: list[StepResult], destroy: float) -> dict[str, float]:
    """Seconds per phase over all processes: deploy (create + wait + controls), baseline,
    apply, converge, restore (restore-open: delete + converge), delete, destroy."""
    out = dict.fromkeys(PHASES, 0.0)
    for step in steps:
        ph = step.phases
        if step.step == RESTORE_STEP:
            out["restore"] += sum(ph.values())
        elif step.step == HOLD_STEP:
            out["hold"] += ph.get("converge", 0.0) + ph.get("confirm", 0.0)
        elif "create" in ph:
            out["deploy"] += ph["create"] + ph.get("wait", 0.0) + ph.get("controls", 0.0)
            out["baseline"] += ph.get("converge", 0.0)
        else:
            for name in ("apply", "converge", "confirm", "delete"):
                out[name] += ph.get(name, 0.0)
    out["destroy"] = destroy
    return out


def floor_of(steps: list[StepResult], poll_interval: float) -> Floor:
    """The floor from a run's own data: its mean deployment, and for every scenario activation
    the time of one matrix (the converge time less the waits between polls, over the polls)."""
    deploys = [
        s.phases["create"]
        + s.phases.get("wait", 0.0)
        + s.phases.get("controls", 0.0)
        + s.phases.get("converge", 0.0)
        for s in steps
        if "create" in s.phases
    ]
    matrices = tuple(
        (
            f"{s.scenario}/{s.step}",
            (s.phases["converge"] + s.phases.get("confirm", 0.0) - (s.polls - 1) * poll_interval)
            / s.polls,
            2 if s.step == RESTORE_STEP else 2 + CONFIRM_POLLS,
        )
        for s in steps
        if s.step != HOLD_STEP and "create" not in s.phases and s.polls
    )
    hold = sum(s.poll_times[-1] for s in steps if s.step == HOLD_STEP and s.poll_times)
    return Floor(sum(deploys) / max(len(deploys), 1), matrices, hold)


def run_suite(workers: str, label: str) -> SuiteRun:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        results = Path(tmp) / "results.json"
        load0 = os.getloadavg()[0]
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
                "--netpol-results",
                str(results),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.monotonic() - start
        load1 = os.getloadavg()[0]
        if rc.returncode != 0:
            print(rc.stdout[-3000:])
            raise SystemExit(f"bench: the suite failed with -n {workers} ({label})")
        record = load_results(results)
    m = SUMMARY_DESTROY.search(rc.stdout)
    steps = list(record.steps)
    return SuiteRun(
        workers,
        wall,
        (load0, load1),
        breakdown(steps, float(m.group(1)) if m else 0.0),
        busy_per_process(steps),
        floor_of(steps, POLL_INTERVAL),
    )


def busy_per_process(steps: list[StepResult]) -> tuple[float, ...]:
    """Each process's steps come together in the results, its baseline first."""
    busy: list[float] = []
    for step in steps:
        if "create" in step.phases or not busy:
            busy.append(0.0)
        busy[-1] += sum(step.phases.values())
    return tuple(busy)


def show(run: SuiteRun, label: str) -> None:
    parts = ", ".join(f"{k} {v:.1f}" for k, v in run.phases.items())
    n = len(run.busy)
    print(
        f"{label}: -n {run.workers}: {run.wall:.0f} s"
        + (f" (load {run.load[0]:.1f} -> {run.load[1]:.1f})" if run.load else "")
        + f"; seconds by phase over {n} process{'es' if n != 1 else ''}: "
        f"{parts}; busy per process: {', '.join(f'{b:.0f}' for b in run.busy)} s"
    )


def show_floor(floor: Floor) -> None:
    m = [t for _, t, _ in floor.matrices]
    counts = sum(n for _, _, n in floor.matrices)
    print(
        f"floor: one deployment {floor.deploy:.1f} s + {counts} matrices over {len(m)} steps "
        f"(2 to converge each, 3 more to confirm a verdict; one matrix {min(m):.2f}-"
        f"{max(m):.2f} s) + the hold {floor.hold:.0f} s = {floor.total:.0f} s"
    )


def recorded(path: Path) -> SuiteRun:
    """A finished run's figures from its results file: its wall time is start to finish."""
    record = load_results(path)
    wall = (
        datetime.fromisoformat(record.finished) - datetime.fromisoformat(record.started)
    ).total_seconds()
    steps = list(record.steps)
    busy = busy_per_process(steps)
    workers = "0" if len(busy) == 1 else str(len(busy))
    # what the suite waits between polls on the run's cluster (settings.py)
    interval = SIMULATED_POLL_INTERVAL if record.cluster.kind == "simulated" else POLL_INTERVAL
    floor = floor_of(steps, interval)
    return SuiteRun(workers, wall, None, breakdown(steps, 0.0), busy, floor)


def from_results(paths: list[Path]) -> None:
    """Print each run's figures, then per worker count the spread of wall times, against the
    floor of the one-process runs (their matrices are timed without a neighbour)."""
    by_workers: dict[str, list[SuiteRun]] = {}
    for path in paths:
        run = recorded(path)
        show(run, path.name)
        by_workers.setdefault(run.workers, []).append(run)
    alone = by_workers.get("0", [])
    floor = sum(r.floor.total for r in alone) / len(alone) if alone else None
    if alone:
        show_floor(alone[0].floor)
    for workers, runs in sorted(by_workers.items()):
        walls = [r.wall for r in runs]
        ratio = (
            f"; {min(walls) / floor:.2f}-{max(walls) / floor:.2f}x the mean floor of the -n 0 "
            f"runs ({floor:.0f} s)"
            if floor
            else ""
        )
        print(
            f"-n {workers}: {len(runs)} run{'s' if len(runs) != 1 else ''}, wall "
            f"{min(walls):.0f}-{max(walls):.0f} s (mean {sum(walls) / len(walls):.0f}){ratio}"
        )


def matrix(info: dict) -> bool:
    """The 81-probe matrix, both ways, under both deny styles; True if on target."""
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
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-suite", action="store_true", help="no whole-suite runs")
    parser.add_argument("--skip-matrix", action="store_true", help="no 81-probe matrix")
    parser.add_argument(
        "--repeat",
        type=int,
        default=0,
        metavar="N",
        help="first run the suite (-n auto) N times in a row: a run's time must not grow with "
        "the number of runs before it on the same cluster",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument(
        "--results",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="no cluster: the figures of runs already made, from their results files",
    )
    args = parser.parse_args()
    if args.results:
        from_results(args.results)
        return 0
    info = local_info()
    if info["cni"] != "kube-router":
        raise SystemExit("bench: needs scripts/local-cluster up --cni kube-router")
    ok = True
    if not args.skip_matrix:
        ok &= matrix(info)
    if args.repeat:
        walls = []
        for i in range(args.repeat):
            run = run_suite("auto", f"run {i + 1}")
            show(run, f"run {i + 1}/{args.repeat}")
            walls.append(run.wall)
        growth = walls[-1] / walls[0]
        steady = growth <= 1.15
        ok &= steady
        print(
            f"{args.repeat} consecutive runs: "
            + ", ".join(f"{w:.0f}" for w in walls)
            + f" s (last/first {growth:.2f}: {'ok' if steady else 'GROWS'})"
        )
    if not args.skip_suite:
        n_auto = run_suite("auto", "-n auto")
        show(n_auto, "whole suite")
        n_0 = run_suite("0", "-n 0")
        show(n_0, "whole suite")
        floor = n_0.floor  # one process: its matrices are timed without a neighbour
        show_floor(floor)
        within = n_auto.wall <= 2 * floor.total
        faster = n_auto.wall < n_0.wall
        print(
            f"target: -n auto {n_auto.wall:.0f} s <= 2 x floor {2 * floor.total:.0f} s: "
            f"{'ok' if within else 'MISSED'} ({n_auto.wall / floor.total:.2f}x; -n 0 "
            f"{n_0.wall / floor.total:.2f}x); -n auto faster than -n 0 "
            f"({n_0.wall / n_auto.wall:.2f}x): {'ok' if faster else 'MISSED'}"
        )
        ok &= within and faster
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
