#!/usr/bin/env python3
"""Benchmark the policy oracle's full matrix, and `netpol-conformance simulate`, on generated,
realistic clusters.

Default: 1000 pods in 20 namespaces, each pod declaring 2 ports, 10 external hosts, 200
NetworkPolicies mixing default-denies, pod and namespace selectors (matchLabels and
matchExpressions), ipBlocks with excepts, named ports and port ranges. Prints the best of N
runs in verdicts per second and the peak memory. Then runs `netpol-conformance simulate` as a
subprocess, once per output format, on 3000 pods and 30 policies of the same kind, reading its
whole output through a pipe, and prints its wall time and maximum RSS. With --check, exits 1
when the matrix is below 1,000,000 verdicts/s or above 500 MB, or when simulate takes more
than 10 s (of CPU time: on a shared machine, wall time measures the neighbours; it is printed
next to it, with the load average) or 1 GB in either format.

    python scripts/bench_oracle.py [--check] [--pods 1000] [--policies 200] [--repeat 3]
                                   [--simulate-pods 3000] [--simulate-policies 30]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from netpol_conformance.model.topology import Topology
from netpol_conformance.model.topology_file import topology_from_dict
from netpol_conformance.policy.model import NetworkPolicy
from netpol_conformance.policy.oracle import Oracle
from netpol_conformance.policy.parse import parse_policies

MIN_VERDICTS_PER_SECOND = 1_000_000
MAX_PEAK_MB = 500
MAX_SIMULATE_SECONDS = 10.0
MAX_SIMULATE_MB = 1024
REPO = Path(__file__).resolve().parent.parent

APPS = ("web", "api", "db", "cache", "queue", "worker", "auth", "search", "metrics", "batch")
TIERS = ("frontend", "backend", "data")
ENVS = ("prod", "staging", "dev")
TEAMS = ("payments", "search", "identity", "platform", "growth")


def make_topology(rng: random.Random, pods: int, namespaces: int) -> dict[str, Any]:
    ns_names = [f"ns-{i:02d}" for i in range(namespaces)]
    ns_docs = [
        {"name": n, "labels": {"env": rng.choice(ENVS), "team": rng.choice(TEAMS)}}
        for n in ns_names
    ]
    pod_docs = []
    for i in range(pods):
        ns = i % namespaces
        labels = {"app": rng.choice(APPS), "tier": rng.choice(TIERS)}
        if rng.random() < 0.3:
            labels["version"] = rng.choice(("v1", "v2"))
        if rng.random() < 0.1:
            labels["canary"] = "true"
        http = rng.choice((80, 80, 80, 8080))  # the named port "http" differs between pods
        second = rng.choice(({"name": "dns", "port": 53, "protocol": "UDP"},
                             {"name": "metrics", "port": 9090}))  # fmt: skip
        pod_docs.append({
            "namespace": ns_names[ns],
            "name": f"pod-{i:04d}",
            "ip": f"10.{ns}.{i // 250}.{i % 250 + 1}",
            "labels": labels,
            "ports": [{"name": "http", "port": http}, second],
        })  # fmt: skip
    externals = [
        {"name": f"ext-{i}", "ip": f"203.0.113.{i + 1}", "ports": [{"port": 443}]} for i in range(8)
    ] + [
        {"name": "ext-v6-0", "ip": "2001:db8::1", "ports": [{"port": 443}]},
        {"name": "ext-v6-1", "ip": "2001:db8:1::1", "ports": [{"port": 443}]},
    ]
    return {"namespaces": ns_docs, "pods": pod_docs, "externals": externals}


def _selector(rng: random.Random) -> dict[str, Any]:
    kind = rng.random()
    if kind < 0.15:
        return {}
    if kind < 0.6:
        return {"matchLabels": {"app": rng.choice(APPS)}}
    if kind < 0.75:
        return {"matchLabels": {"app": rng.choice(APPS), "tier": rng.choice(TIERS)}}
    op = rng.choice(("In", "NotIn", "Exists", "DoesNotExist"))
    key = rng.choice(("app", "tier", "version", "canary"))
    expr: dict[str, Any] = {"key": key, "operator": op}
    if op in ("In", "NotIn"):
        pool = {"app": APPS, "tier": TIERS, "version": ("v1", "v2"), "canary": ("true",)}[key]
        expr["values"] = rng.sample(pool, k=min(2, len(pool)))
    return {"matchExpressions": [expr]}


def _ns_selector(rng: random.Random, namespaces: int) -> dict[str, Any]:
    kind = rng.random()
    if kind < 0.4:
        name = f"ns-{rng.randrange(namespaces):02d}"
        return {"matchLabels": {"kubernetes.io/metadata.name": name}}
    if kind < 0.7:
        return {"matchLabels": {"team": rng.choice(TEAMS)}}
    if kind < 0.9:
        return {
            "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "staging"]}]
        }
    return {}


def _peer(rng: random.Random, namespaces: int, egress: bool) -> dict[str, Any]:
    kind = rng.random()
    if kind < 0.35:
        return {"podSelector": _selector(rng)}
    if kind < 0.55:
        return {"namespaceSelector": _ns_selector(rng, namespaces)}
    if kind < 0.85:
        return {"namespaceSelector": _ns_selector(rng, namespaces), "podSelector": _selector(rng)}
    if egress and rng.random() < 0.5:
        cidr = rng.choice(("203.0.113.0/24", "2001:db8::/32", "0.0.0.0/0"))
        excepts = {"203.0.113.0/24": ["203.0.113.0/29"], "2001:db8::/32": ["2001:db8:1::/48"],
                   "0.0.0.0/0": ["10.0.0.0/8"]}[cidr]  # fmt: skip
        return {"ipBlock": {"cidr": cidr, "except": excepts}}
    ns = rng.randrange(namespaces)
    return {"ipBlock": {"cidr": f"10.{ns}.0.0/16", "except": [f"10.{ns}.1.0/24"]}}


def _ports(rng: random.Random) -> list[dict[str, Any]]:
    kind = rng.random()
    if kind < 0.2:
        return []
    if kind < 0.45:
        return [{"port": "http"}]
    if kind < 0.6:
        return [{"port": 80}, {"port": 443}]
    if kind < 0.75:
        return [{"port": 8000, "endPort": 8999}]
    if kind < 0.9:
        return [{"port": "dns", "protocol": "UDP"}, {"port": 53}]
    return [{"port": "metrics"}, {"protocol": "UDP"}]


def make_policies(rng: random.Random, count: int, namespaces: int) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for i in range(count):
        ns = f"ns-{rng.randrange(namespaces):02d}"
        spec: dict[str, Any] = {"podSelector": _selector(rng)}
        kind = rng.random()
        if kind < 0.1:  # default deny, one or both directions
            spec["podSelector"] = {}
            spec["policyTypes"] = rng.choice((["Ingress"], ["Ingress", "Egress"]))
        else:
            if kind < 0.75 or rng.random() < 0.5:
                spec["ingress"] = [
                    {"from": [_peer(rng, namespaces, False) for _ in range(rng.randint(1, 3))],
                     "ports": _ports(rng)}
                    for _ in range(rng.randint(1, 3))
                ]  # fmt: skip
            if kind >= 0.6:
                spec["egress"] = [
                    {"to": [_peer(rng, namespaces, True) for _ in range(rng.randint(1, 2))],
                     "ports": _ports(rng)}
                    for _ in range(rng.randint(1, 2))
                ]  # fmt: skip
            if "ingress" not in spec:
                spec["policyTypes"] = ["Egress"]
        docs.append({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": f"policy-{i:03d}", "namespace": ns},
            "spec": spec,
        })  # fmt: skip
    return docs


def build(
    pods: int, policies: int, namespaces: int, seed: int
) -> tuple[Topology, list[NetworkPolicy]]:
    rng = random.Random(seed)
    topology = topology_from_dict(make_topology(rng, pods, namespaces), "bench-topology")
    docs = make_policies(rng, policies, namespaces)
    return topology, parse_policies([(f"bench-policies[{i}]", d) for i, d in enumerate(docs)])


def run_once(topology: Topology, policies: list[NetworkPolicy]) -> tuple[float, int, int]:
    start = time.perf_counter()
    matrix = Oracle(topology, policies).matrix()
    elapsed = time.perf_counter() - start
    return elapsed, matrix.verdict_count, matrix.allowed_count


@dataclass(frozen=True)
class SimulateRun:
    output: str
    seconds: float  # wall clock, from start to the last byte read and the exit
    cpu_seconds: float  # user + system time of the command itself
    max_rss_mb: float
    returncode: int
    out_bytes: int
    out_lines: int
    stderr: str


def write_inputs(directory: Path, pods: int, policies: int, namespaces: int, seed: int) -> None:
    rng = random.Random(seed)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    topology = make_topology(rng, pods, namespaces)
    (directory / "topology.yaml").write_text(yaml.dump(topology, Dumper=dumper))
    docs = make_policies(rng, policies, namespaces)
    (directory / "policies.yaml").write_text(yaml.dump_all(docs, Dumper=dumper))


def run_simulate(directory: Path, output: str) -> SimulateRun:
    """Run `netpol-conformance simulate` of this checkout, read all it prints, measure it."""
    command = [sys.executable, "-m", "netpol_conformance.cli", "simulate",
               "--topology", str(directory / "topology.yaml"),
               "--policies", str(directory / "policies.yaml"), "--format", output]  # fmt: skip
    out_bytes = out_lines = 0
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=stderr)
        assert proc.stdout is not None
        while chunk := proc.stdout.read(1 << 20):
            out_bytes += len(chunk)
            out_lines += chunk.count(b"\n")
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        errors = stderr.read().decode(errors="replace")
    cpu = usage.ru_utime + usage.ru_stime
    return SimulateRun(output, seconds, cpu, usage.ru_maxrss / 1024, proc.returncode, out_bytes,
                       out_lines, errors)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--policies", type=int, default=200)
    parser.add_argument("--namespaces", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 when below the targets")
    parser.add_argument(
        "--verify", type=int, default=0, metavar="N",
        help="also compare N random cells of the matrix with explain()",
    )  # fmt: skip
    parser.add_argument("--simulate-pods", type=int, default=3000, help="0: skip simulate")
    parser.add_argument("--simulate-policies", type=int, default=30)
    args = parser.parse_args(argv)

    topology, policies = build(args.pods, args.policies, args.namespaces, args.seed)
    runs = [run_once(topology, policies) for _ in range(args.repeat)]
    best, verdicts, allowed = min(runs)
    rate = verdicts / best
    tracemalloc.start()
    run_once(topology, policies)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    traced_mb = traced_peak / 2**20

    print(
        f"topology: {len(topology.pods)} pods in {len(topology.namespaces)} namespaces, "
        f"{len(topology.externals)} externals; {len(policies)} policies"
    )
    print(f"verdicts: {verdicts:,} ({allowed:,} allowed)")
    print("runs: " + ", ".join(f"{t:.3f}s" for t, _, _ in runs))
    print(f"best: {best:.3f}s = {rate:,.0f} verdicts/s")
    print(f"peak memory: {rss_mb:.0f} MB max RSS, {traced_mb:.0f} MB traced during matrix()")
    if args.verify:
        oracle = Oracle(topology, policies)
        sample = random.Random(args.seed).sample(list(oracle.matrix().cells()), args.verify)
        wrong = [c for c in sample if oracle.explain(c.src, c.dst, c.port, c.protocol).allowed
                 is not c.allowed]  # fmt: skip
        print(
            f"verify: {len(sample) - len(wrong)}/{len(sample)} sampled cells agree with explain()"
        )
        if wrong:
            return 1
    failed = []
    if args.simulate_pods:
        topology, policies = build(
            args.simulate_pods, args.simulate_policies, args.namespaces, args.seed
        )
        expected = Oracle(topology, policies).matrix().verdict_count
        with tempfile.TemporaryDirectory() as tmp:
            write_inputs(Path(tmp), args.simulate_pods, args.simulate_policies, args.namespaces,
                         args.seed)  # fmt: skip
            for output in ("json", "table"):
                run = run_simulate(Path(tmp), output)
                print(
                    f"simulate {args.simulate_pods} pods x {args.simulate_policies} policies, "
                    f"--format {output}: {run.seconds:.2f}s wall, {run.cpu_seconds:.2f}s CPU, "
                    f"{run.max_rss_mb:.0f} MB max RSS, {run.out_bytes:,} bytes in "
                    f"{run.out_lines:,} lines (load average {os.getloadavg()[0]:.1f})"
                )
                if run.returncode != 0:
                    failed.append(f"simulate --format {output} exited {run.returncode}: "
                                  f"{run.stderr.strip()}")  # fmt: skip
                if output == "json" and run.out_lines != expected + 2:
                    failed.append(f"simulate printed {run.out_lines - 2:,} results, not "
                                  f"{expected:,}")  # fmt: skip
                # The gate is CPU time: wall time on a shared machine measures the neighbours.
                if args.check and run.cpu_seconds > MAX_SIMULATE_SECONDS:
                    failed.append(f"simulate --format {output} took {run.cpu_seconds:.1f}s CPU, "
                                  f"more than {MAX_SIMULATE_SECONDS:.0f}s")  # fmt: skip
                if args.check and run.max_rss_mb > MAX_SIMULATE_MB:
                    failed.append(f"simulate --format {output} used {run.max_rss_mb:.0f} MB, "
                                  f"more than {MAX_SIMULATE_MB} MB")  # fmt: skip
    if args.check:
        if rate < MIN_VERDICTS_PER_SECOND:
            failed.append(f"{rate:,.0f} verdicts/s is below {MIN_VERDICTS_PER_SECOND:,}")
        if rss_mb > MAX_PEAK_MB:
            failed.append(f"peak memory {rss_mb:.0f} MB is above {MAX_PEAK_MB} MB")
    for message in failed:
        print(f"bench_oracle: FAIL: {message}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
