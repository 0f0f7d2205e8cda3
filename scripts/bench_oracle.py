#!/usr/bin/env python3
"""Benchmark the policy oracle's full matrix on a generated, realistic cluster.

Default: 1000 pods in 20 namespaces, each pod declaring 2 ports, 10 external hosts, 200
NetworkPolicies mixing default-denies, pod and namespace selectors (matchLabels and
matchExpressions), ipBlocks with excepts, named ports and port ranges. Prints the best of N
runs in verdicts per second and the peak memory; with --check, exits 1 when below
1,000,000 verdicts/s or above 500 MB.

    python scripts/bench_oracle.py [--check] [--pods 1000] [--policies 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
import tracemalloc
from typing import Any

from netpol_conformance.model.topology import Topology
from netpol_conformance.model.topology_file import topology_from_dict
from netpol_conformance.policy.model import NetworkPolicy
from netpol_conformance.policy.oracle import Oracle
from netpol_conformance.policy.parse import parse_policies

MIN_VERDICTS_PER_SECOND = 1_000_000
MAX_PEAK_MB = 500

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
    if not args.check:
        return 0
    failed = []
    if rate < MIN_VERDICTS_PER_SECOND:
        failed.append(f"{rate:,.0f} verdicts/s is below {MIN_VERDICTS_PER_SECOND:,}")
    if rss_mb > MAX_PEAK_MB:
        failed.append(f"peak memory {rss_mb:.0f} MB is above {MAX_PEAK_MB} MB")
    for message in failed:
        print(f"bench_oracle: FAIL: {message}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
