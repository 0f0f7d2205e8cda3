"""`netpol-conformance`: the command-line entry point."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from collections.abc import Sequence

from netpol_conformance.commands import compare as compare_command
from netpol_conformance.commands import report as report_command
from netpol_conformance.errors import ConformanceError
from netpol_conformance.model.topology import load_topology
from netpol_conformance.policy.loader import load_policies
from netpol_conformance.policy.oracle import Oracle
from netpol_conformance.report.truth_table import render_table


def _simulate(args: argparse.Namespace) -> int:
    topology = load_topology(args.topology)
    policies = load_policies(args.policies)
    oracle = Oracle(topology, policies)
    matrix = oracle.matrix()
    if args.format == "json":
        results = [
            {
                "from": c.src,
                "to": c.dst,
                "port": c.port,
                "protocol": c.protocol,
                "allowed": c.allowed,
                "reason": oracle.explain(c.src, c.dst, c.port, c.protocol).reason,
            }
            for c in matrix.cells()
        ]
        json.dump({"results": results}, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    by_key: dict[tuple[int, str], dict[tuple[str, str], bool]] = defaultdict(dict)
    for c in matrix.cells():
        by_key[(c.port, c.protocol)][(c.src, c.dst)] = c.allowed
    rows = [p.key for p in topology.pods]
    cols = [e.key for e in topology.endpoints]
    for (port, proto), cells in sorted(by_key.items()):
        cols_here = [c for c in cols if any((r, c) in cells for r in rows)]

        def mark(r: str, c: str, cells: dict = cells) -> str:
            if (r, c) not in cells:
                return "-"
            return "." if cells[(r, c)] else "X"

        sys.stdout.write(
            render_table(f"{port}/{proto}  (. allowed, X denied)", rows, cols_here, mark)
        )
    return 0


def _cleanup(args: argparse.Namespace) -> int:
    from netpol_conformance.cluster.base import MANAGED_LABEL, RUN_LABEL, ClusterInfo
    from netpol_conformance.cluster.kube import KubeBackend

    kubeconfig = args.kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    kubeconfig = kubeconfig or os.path.expanduser("~/.kube/config")
    backend = KubeBackend(ClusterInfo("existing", "", kubeconfig, args.kube_context))
    backend.check_reachable()
    selector = f"{MANAGED_LABEL}=true" + (f",{RUN_LABEL}={args.run}" if args.run else "")
    if args.dry_run:
        items = backend.core.list_namespace(label_selector=selector).items
        names = [ns.metadata.name for ns in items if ns.metadata.deletion_timestamp is None]
        verb = "would delete"
    else:
        names = backend.delete_namespaces(selector)
        verb = "deleted"
    for name in names:
        print(f"{verb} namespace {name}")
    print(f"{verb} {len(names)} namespaces labelled {selector} (nothing else is touched)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netpol-conformance",
        description="Kubernetes NetworkPolicy conformance: oracle, suite helpers and reports.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser(
        "simulate",
        help="answer every connection of a topology under a set of policies",
        description="Compute which connections the policies allow, with the reason for each.",
    )
    sim.add_argument(
        "--topology", required=True, help="topology YAML (namespaces, pods, externals)"
    )
    sim.add_argument(
        "--policies",
        required=True,
        action="append",
        help="a YAML file (one or many documents, or kind: List) or a directory; repeatable",
    )
    sim.add_argument("--format", choices=("json", "table"), default="table")
    sim.set_defaults(func=_simulate)
    clean = sub.add_parser(
        "cleanup",
        help="delete the namespaces a run left behind",
        description="Delete every namespace carrying the suite's label, and nothing else.",
    )
    clean.add_argument("--kube-context", required=True, help="kubeconfig context (required)")
    clean.add_argument("--kubeconfig", default=None, help="kubeconfig file ($KUBECONFIG)")
    clean.add_argument("--run", default=None, help="only this run id")
    clean.add_argument("--dry-run", action="store_true", help="list, do not delete")
    clean.set_defaults(func=_cleanup)
    compare_command.add_parser(sub)
    report_command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConformanceError as exc:
        print(f"netpol-conformance: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("netpol-conformance: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
