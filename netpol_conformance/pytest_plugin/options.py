"""The suite's command-line options (validated into settings by ``settings.build_settings``)."""

from __future__ import annotations

import pytest

from netpol_conformance.cluster.kind.options import add_kind_options
from netpol_conformance.cni import PROFILES
from netpol_conformance.settings import CLUSTERS
from netpol_conformance.sim.faults import FAULTS


def add_options(parser: pytest.Parser) -> None:
    g = parser.getgroup("netpol-conformance", "NetworkPolicy conformance")
    add = g.addoption
    add(
        "--cluster",
        dest="netpol_cluster",
        default="kind",
        metavar="NAME",
        help=f"where to run: {' | '.join(CLUSTERS)} (default: kind)",
    )
    add(
        "--cni",
        dest="netpol_cni",
        default="calico",
        metavar="NAME",
        help=f"the CNI under test; selects its profile: {', '.join(PROFILES)} (default: calico)",
    )
    add(
        "--cni-host-agent",
        dest="netpol_cni_host_agent",
        action="store_true",
        help="the CNI's policy controller runs on the nodes outside pods (as k3s runs "
        "kube-router): the preflight then accepts seeing no pod of it",
    )
    add(
        "--kube-context",
        dest="netpol_kube_context",
        default=None,
        metavar="NAME",
        help="kubeconfig context for --cluster existing (required: never the current context)",
    )
    add(
        "--probe-timeout",
        dest="netpol_probe_timeout",
        default=2.0,
        metavar="S",
        help="curl --max-time for each probe, as the tutorial's --max-time 2 (default: 2)",
    )
    add(
        "--dns-timeout",
        dest="netpol_dns_timeout",
        default=2,
        metavar="S",
        help="DNS probe (dig) timeout per try (default: 2)",
    )
    add(
        "--enforce-timeout",
        dest="netpol_enforce_timeout",
        default=60.0,
        metavar="S",
        help="how long to poll for policies to take effect (default: 60)",
    )
    add(
        "--confirm-window",
        dest="netpol_confirm_window",
        default=None,
        metavar="S",
        help="after a matrix converges, keep probing (three polls at least) until S seconds "
        "have passed since it converged; a probe whose history its change cannot explain fails "
        "as flapping (default: 3; 1 on the simulated cluster, whose polls are 50 ms apart; 0 "
        "switches flapping detection off after convergence, and the run says so)",
    )
    add(
        "--hold",
        dest="netpol_hold",
        default=None,
        metavar="S",
        help="after the tutorial's last step is in force and confirmed, keep it and probe its "
        "matrix over and over for S seconds: any probe that deviates fails with its time "
        "(rules that vanish a while after they took effect; default: 20; 12 on the simulated "
        "cluster; 0 switches the hold off, and the run says so)",
    )
    add(
        "--max-time-to-enforce",
        dest="netpol_max_time_to_enforce",
        default=None,
        metavar="S",
        help="a time budget: a probe that meets its expectation only more than S seconds after "
        "its policies changed fails, naming the step and the time (default: no budget)",
    )
    add(
        "--strict-deny-style",
        dest="netpol_strict_deny_style",
        action="store_true",
        help="a rejecting CNI's deny must be refused (by default a timeout also counts: the "
        "kernel's ICMP rate limit turns rejects into silence)",
    )
    add(
        "--external-ip",
        dest="netpol_external_ip",
        default=None,
        metavar="IP",
        help="the step-4 external host for --cluster existing (must listen on TCP 80 and 5432)",
    )
    add(
        "--server-image",
        dest="netpol_server_image",
        default=None,
        metavar="IMAGE",
        help="image of the server container (nginx)",
    )
    add(
        "--probe-image",
        dest="netpol_probe_image",
        default=None,
        metavar="IMAGE",
        help="image of the probe container (needs sh, od, curl, socat and dig)",
    )
    add(
        "--image-pull-policy",
        dest="netpol_pull_policy",
        default=None,
        metavar="POLICY",
        choices=("Always", "IfNotPresent", "Never"),
        help="imagePullPolicy for the test pods",
    )
    add(
        "--manifests",
        dest="netpol_manifests",
        default=None,
        metavar="DIR",
        help="a manifests directory laid out like the package's manifests/ (default: those)",
    )
    add(
        "--local-cluster-script",
        dest="netpol_local_script",
        default=None,
        metavar="PATH",
        help="--cluster local: the scripts/local-cluster of a checkout (default: the one under "
        "the rootdir)",
    )
    add(
        "--simulate-faults",
        dest="netpol_faults",
        default="",
        metavar="F[,F...]",
        help=f"--cluster simulated only: {', '.join(FAULTS)} (slow-enforcement:SECONDS)",
    )
    add(
        "--simulate-delay",
        dest="netpol_simulate_delay",
        default=0.05,
        metavar="S",
        help="--cluster simulated only: seconds before an applied policy is enforced",
    )
    add(
        "--netpol-results",
        dest="netpol_results",
        default=None,
        metavar="PATH",
        help="write every probe's expected and observed outcome to this JSON file",
    )
    # --keep-cluster, --cluster-name, --kubeconfig, --kind-image, --kind-bin and
    # --kind-kubectl-bin are pytest-kind-ng's own options (a dependency; its plugin registers
    # them); they are read with a default, so running with `-p no:kind` still works.
    add_kind_options(add)
