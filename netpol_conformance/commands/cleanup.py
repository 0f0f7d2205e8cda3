"""`netpol-conformance cleanup`: delete the namespaces a run left behind, and nothing else."""

from __future__ import annotations

import argparse

from netpol_conformance.cluster.kubeconfig import kubeconfig_path, require_kube_context


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "cleanup",
        help="delete the namespaces a run left behind",
        description="Delete every namespace carrying the suite's label, and nothing else.",
    )
    parser.add_argument("--kube-context", required=True, help="kubeconfig context (required)")
    parser.add_argument(
        "--kubeconfig", default=None, help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)"
    )
    parser.add_argument("--run", default=None, help="only this run id")
    parser.add_argument("--dry-run", action="store_true", help="list, do not delete")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    kubeconfig = kubeconfig_path(args.kubeconfig)
    require_kube_context(kubeconfig, args.kube_context)  # before the client is even imported

    from netpol_conformance.cluster.base import MANAGED_LABEL, RUN_LABEL, ClusterInfo
    from netpol_conformance.cluster.kube import KubeBackend

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
