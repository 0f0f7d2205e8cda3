#!/usr/bin/env python3
"""The catalogue's time on a cluster, against its target and its floor.

    scripts/bench_catalogue.py [--repeat 3] [--target 100] [-- PYTEST OPTIONS]
    scripts/bench_catalogue.py --results run-1.json run-2.json

Runs ``pytest suites -m catalogue --cluster local --cni kube-router -n auto`` (the local cluster
must be up: ``scripts/local-cluster up --cni kube-router``) ``--repeat`` times in a row and, for
each run, prints its wall time against the target (upstream's 45 non-SCTP specs took 1046 s on
the same cluster; the target is a tenth), the seconds by phase read from its results file
(create, wait, control probes, baseline, apply, converge, confirm), and its
floor: the deployment as measured, plus the fewest polls each state needs for its verdict (two
to converge, three more to confirm), one poll timed from the run's own data, over the worker
processes the run had, and how busy the machine's CPUs were during the run (a run that keeps
them busy is bound by the CPU, which the cluster and the probes share, not by its polls). With
``--results``, no cluster is needed: the same figures for runs already made (without the CPU).
Exit 1 when a run missed the target or did not pass.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netpol_conformance.results.load import load_results  # noqa: E402
from netpol_conformance.run.catalogue import OPEN_SCENARIO  # noqa: E402
from netpol_conformance.run.convergence import CONFIRM_POLLS  # noqa: E402
from netpol_conformance.scenarios.catalogue import BY_ID  # noqa: E402

UPSTREAM_SECONDS = 1046.0  # upstream's 45 non-SCTP specs on the local kube-router cluster
DEPLOY = ("create", "wait", "controls")
CPU_BOUND = 0.85  # the share of every core's time busy from which a run is called CPU-bound


def cpu_busy() -> float:
    """Seconds of CPU time spent, over every core, since boot (/proc/stat: all but idle and
    iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Figures:
    wall: float
    status: str
    states: int
    processes: int
    phases: dict[str, float]
    poll: float  # one matrix poll, from the run's own data

    @property
    def floor(self) -> float:
        """The deployment and baseline per process, and the fewest polls of every state,
        spread over the processes."""
        deploy = sum(self.phases.get(k, 0.0) for k in (*DEPLOY, "baseline")) / self.processes
        polls = self.states * (2 + CONFIRM_POLLS) * self.poll / self.processes
        return deploy + polls


def figures(path: Path, wall: float | None = None) -> Figures:
    run = load_results(path)
    phases: dict[str, float] = defaultdict(float)
    states = processes = polls = 0
    polling = 0.0
    for step in run.steps:
        if step.scenario == OPEN_SCENARIO:  # one per deployment: it carries its phases
            processes += 1
            for name in DEPLOY:
                phases[name] += step.phases.get(name, 0.0)
            phases["baseline"] += step.phases.get("converge", 0.0)
            continue
        if step.scenario not in BY_ID:
            continue
        states += 1
        for name, secs in step.phases.items():
            phases[name] += secs
        polls += step.polls
        polling += step.phases.get("converge", 0.0) + step.phases.get("confirm", 0.0)
    if wall is None:
        started = datetime.fromisoformat(run.started)
        wall = (datetime.fromisoformat(run.finished) - started).total_seconds()
    return Figures(
        wall, run.status, states, max(processes, 1), dict(phases), polling / max(polls, 1)
    )


def show(label: str, f: Figures, target: float) -> bool:
    ok = f.status == "passed" and f.wall <= target
    # a run that did not pass is no measure of the catalogue's time, however short
    verdict = "met" if ok else "MISSED" if f.status == "passed" else "not measured"
    print(
        f"{label}: {f.wall:.0f} s wall ({f.status}), target {target:.0f} s: "
        f"{verdict}; floor {f.floor:.0f} s "
        f"({f.states} states x {2 + CONFIRM_POLLS} polls of {f.poll:.2f} s with their waits, over "
        f"{f.processes} processes, and the deployment)"
    )
    order = [*DEPLOY, "baseline", "apply", "converge", "confirm"]
    shown = [f"{k} {f.phases[k]:.1f}" for k in order if k in f.phases]
    print(f"  seconds by phase, summed over processes: {', '.join(shown)}")
    print(
        f"  upstream's 45 specs on this cluster: {UPSTREAM_SECONDS:.0f} s "
        f"({UPSTREAM_SECONDS / max(f.wall, 0.1):.1f}x this run)"
    )
    return ok


def show_cpu(busy: float, wall: float) -> None:
    cores = len(os.sched_getaffinity(0))
    share = busy / max(wall * cores, 0.1)
    bound = "; CPU-bound" if share >= CPU_BOUND else ""
    print(f"  CPU busy {busy:.0f} of {wall * cores:.0f} core-seconds ({share:.0%}){bound}")


def run_once(out: Path, extra: list[str]) -> float:
    argv = [sys.executable, "-m", "pytest", str(ROOT / "suites"), "-m", "catalogue",
            "--cluster", "local", "--cni", "kube-router", "-n", "auto", "-q",
            "-p", "no:cacheprovider", "--netpol-results", str(out), *extra]  # fmt: skip
    t0 = time.monotonic()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.monotonic() - t0
    if not out.exists():
        print(done.stdout[-3000:] + done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"bench_catalogue: the run wrote no results (exit {done.returncode})")
    return wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--target", type=float, default=UPSTREAM_SECONDS / 10)
    ap.add_argument("--results", nargs="+", type=Path)
    ap.add_argument("pytest_args", nargs="*")
    args = ap.parse_args()
    ok = True
    if args.results:
        for path in args.results:
            ok &= show(str(path), figures(path), args.target)
        return 0 if ok else 1
    load = os.getloadavg()[0]
    print(f"{datetime.now():%H:%M:%S} load average {load:.2f}: the catalogue, {args.repeat} runs")
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            out = Path(tmp) / f"run-{i + 1}.json"
            busy = cpu_busy()
            wall = run_once(out, args.pytest_args)
            busy = cpu_busy() - busy
            ok &= show(f"run {i + 1}", figures(out, wall), args.target)
            show_cpu(busy, wall)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
