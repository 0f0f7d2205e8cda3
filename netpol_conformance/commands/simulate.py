"""`netpol-conformance simulate`: which connections of a topology a set of policies allows."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from netpol_conformance.errors import ManifestError, UsageError
from netpol_conformance.model.topology import Topology
from netpol_conformance.model.topology_file import load_topology
from netpol_conformance.policy.loader import Manifests, read_manifests
from netpol_conformance.policy.matrix_json import write_results_json
from netpol_conformance.policy.matrix_selection import Selection
from netpol_conformance.policy.matrix_tables import write_namespace_tables, write_pod_tables
from netpol_conformance.policy.model import NetworkPolicy
from netpol_conformance.policy.oracle import Oracle
from netpol_conformance.policy.parse import parse_policies

POD_TABLES_UP_TO = 30  # destinations; beyond, --group auto sums up by namespace

EPILOG = f"""\
output:
  --format table (default) prints one table per port/protocol. With --group pod a row per
  source pod and a column per destination serving the port: '.' allowed, 'X' denied, '-' no
  connection (a pod and itself). With --group namespace a row per source namespace and a
  column per destination namespace (external hosts together as '(externals)'): '.' every
  connection allowed, 'X' none, 'N%' that share allowed. --group auto (default) shows pods up
  to {POD_TABLES_UP_TO} destinations and namespaces beyond; narrow a large topology with
  --from/--to, then look at its pods with --group pod.

  --format json prints {{"results": [{{"from", "to", "port", "protocol", "allowed"}}, ...]}}, one
  result per line, in source, destination and port order, as it is computed (thousands of pods
  stream in seconds). --explain adds "reason": which policies isolate each side and which
  rule allows the connection. Reasons are computed one connection at a time: narrow large
  topologies with --from/--to.

topology file (YAML):
  namespaces: [{{name: x, labels: {{team: red}}}}]    # a pod's namespace exists even unlisted
  pods: [{{namespace: x, name: a, ip: 10.0.0.1, labels: {{app: a}},
          ports: [{{port: 80, protocol: TCP, name: http}}]}}]
  externals: [{{name: db, ip: 192.0.2.10, ports: [{{port: 5432}}]}}]
  Names follow Kubernetes' rules; namespaces, pods, externals and IP addresses are unique.

Invalid input (topology or manifests) is listed problem by problem, with file, object and
field path, and exits with code 2. An empty policy file, or a policy in a namespace the
topology lacks, is answered with a warning on stderr.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "simulate",
        help="answer every connection of a topology under a set of policies",
        description="Compute which connections the policies allow, with no cluster.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--topology", required=True, help="topology YAML (namespaces, pods, externals)"
    )
    parser.add_argument(
        "--policies",
        required=True,
        action="append",
        help="a YAML file (one or many documents, or kind: List) or a directory; repeatable",
    )
    parser.add_argument(
        "--format",
        choices=("json", "table"),
        default="table",
        help="table (default) for people, json for programs",
    )
    parser.add_argument(
        "--group",
        choices=("auto", "pod", "namespace"),
        default=None,
        help="tables: a row per pod or per namespace (default: auto, see below)",
    )
    parser.add_argument("--explain", action="store_true", help="json: add each connection's reason")
    parser.add_argument(
        "--from",
        dest="from_namespaces",
        action="append",
        default=[],
        metavar="NAMESPACE",
        help="only connections from pods of this namespace; repeatable",
    )
    parser.add_argument(
        "--to",
        dest="to_names",
        action="append",
        default=[],
        metavar="NAME",
        help="only connections to pods of this namespace, or to this external host; repeatable",
    )
    parser.set_defaults(func=run)
    return parser


def warn(message: str) -> None:
    print(f"netpol-conformance: warning: {message}", file=sys.stderr)


def _load(topology_path: str, policy_paths: Sequence[str]) -> tuple[Topology, Manifests, list]:
    """Topology, manifests and policies; every problem of all of them in one ManifestError."""
    errors: list[ManifestError] = []
    topology = manifests = None
    policies: list[NetworkPolicy] = []
    try:
        topology = load_topology(topology_path)
    except ManifestError as exc:
        errors.append(exc)
    try:
        manifests = read_manifests(policy_paths)
        policies = parse_policies(manifests.documents)
    except ManifestError as exc:
        errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        problems = [p for e in errors for p in e.problems]
        raise ManifestError(problems, "the topology and the manifests")
    assert topology is not None and manifests is not None
    return topology, manifests, policies


def _selection(topology: Topology, from_namespaces: list[str], to_names: list[str]) -> Selection:
    namespaces = [n.name for n in topology.namespaces]
    externals = [e.name for e in topology.externals]
    for option, names, known in (
        ("--from", from_namespaces, namespaces),
        ("--to", to_names, namespaces + externals),
    ):
        unknown = [n for n in names if n not in known]
        if unknown:
            has = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
            kind = "namespace" if option == "--from" else "namespace or external host"
            raise UsageError(
                f"{option} {unknown[0]}: the topology has no such {kind} (it has: {has or 'none'})"
            )
    return Selection.of(topology, set(from_namespaces), set(to_names))


def run(args: argparse.Namespace) -> int:
    if args.explain and args.format != "json":
        raise UsageError("--explain adds a reason to each JSON result: use it with --format json")
    if args.group is not None and args.format != "table":
        raise UsageError("--group chooses the rows of tables: use it with --format table")
    topology, manifests, policies = _load(args.topology, args.policies)
    for path in manifests.empty_files:
        warn(f"{path} holds no document: no policy comes from it")
    known = {n.name for n in topology.namespaces}
    for p in policies:
        if p.namespace not in known:
            warn(
                f"NetworkPolicy {p.key} ({p.source}) is in namespace {p.namespace}, which the "
                "topology does not have: it selects no pod"
            )
    selection = _selection(topology, args.from_namespaces, args.to_names)
    oracle = Oracle(topology, policies)
    matrix = oracle.matrix()
    out = sys.stdout
    if args.format == "json":
        explain = None
        if args.explain:

            def explain(src: str, dst: str, port: int, protocol: str) -> str:
                return oracle.explain(src, dst, port, protocol).reason

        write_results_json(matrix, out, selection, explain)
    else:
        group = args.group or "auto"
        if group == "auto":
            group = "pod" if len(selection.destinations) <= POD_TABLES_UP_TO else "namespace"
        if group == "pod":
            write_pod_tables(matrix, out, selection)
        else:
            write_namespace_tables(matrix, out, selection)
    out.flush()
    return 0
