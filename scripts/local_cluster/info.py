"""Print `scripts/local-cluster info`: one JSON object describing the local cluster.

Called by cluster.sh with KEY=VALUE arguments (see cmd_info); the suite's `--cluster local`
reads the result.
"""

import json
import sys


def main(argv: list[str]) -> None:
    a = dict(arg.split("=", 1) for arg in argv)
    ports = [int(p) for p in a["external_ports"].split()]
    info = {
        "kubeconfig": a["kubeconfig"],
        "cni": a["cni"],
        "cni_version": a.get("cni_version") or None,  # the release in force, if known
        "node": a["node"],
        # every node, the first (control plane) first: two with `up --nodes 2`
        "nodes": a.get("nodes", a["node"]).split(),
        "external": {"ip": a["external_ip"], "ports": ports},
        "images": {"server": a["probe_image"], "probe": a["probe_image"]},
        "image_pull_policy": "Never",
        "pod_cidr": a["pod_cidr"],
        "service_cidr": a["service_cidr"],
        "dns_service_ip": a["dns_service_ip"],
        # off: no ICMP rate limit in the node (every reject is seen); default: the kernel's.
        "icmp_ratelimit": a["icmp_ratelimit"] or None,
        "icmp_ratelimit_ms": int(a["icmp_ratelimit_ms"]) if a["icmp_ratelimit_ms"] else None,
        # the policy controller `cni switch none` turned off (cni is then bridge), if any
        "switched_off": a.get("switched_off") or None,
        # the nodes whose kube-router `cni stop --node K` switched off (its rules removed)
        "stopped_on": (a.get("stopped_on") or "").split(),
        # the dataplane fault `fault` put in force (e.g. "flap 3 0.6"), if any
        "fault": a.get("fault") or None,
    }
    print(json.dumps(info))


if __name__ == "__main__":
    main(sys.argv[1:])
