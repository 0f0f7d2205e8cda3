"""The suite's settings, from pytest options, validated once with clear messages."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netpol_conformance.cluster.faults import Faults
from netpol_conformance.cluster.kind.options import KindOptions, kind_options
from netpol_conformance.cni import CniProfile, profile
from netpol_conformance.environment import RunOptions
from netpol_conformance.errors import UsageError
from netpol_conformance.probe.commands import ProbeSettings
from netpol_conformance.tutorial.layout import DEFAULT_MANIFESTS

CLUSTERS = ("kind", "existing", "simulated", "local")
DEFAULT_IMAGES = {"server": "nginx:1.27.5", "probe": "nicolaka/netshoot:v0.13"}


@dataclass(frozen=True)
class SuiteSettings:
    cluster: str
    profile: CniProfile
    kube_context: str | None = None
    kubeconfig: str = ""
    keep_cluster: bool = False
    cluster_name: str = "netpol-conformance"
    external_ip: str | None = None
    faults: Faults = field(default_factory=Faults)
    simulate_delay: float = 0.05
    manifests: Path = DEFAULT_MANIFESTS
    images: dict[str, str] = field(default_factory=dict)
    pull_policy: str | None = None
    run: RunOptions = field(default_factory=RunOptions)
    results_path: Path | None = None
    kind: KindOptions = field(default_factory=KindOptions)  # --k8s-version, --kind-image, ...

    @property
    def has_external(self) -> bool:
        return self.cluster != "existing" or self.external_ip is not None


def build_settings(opt: Callable[[str], Any]) -> SuiteSettings:
    """Build settings from ``opt(option_name)``; raise UsageError on any bad value."""
    cluster = opt("netpol_cluster")
    if cluster not in CLUSTERS:
        raise UsageError(f"unknown --cluster {cluster!r}: choose one of {', '.join(CLUSTERS)}")
    prof = profile(opt("netpol_cni"))
    faults = Faults.parse(opt("netpol_faults"))
    if faults != Faults() and cluster != "simulated":
        raise UsageError("--simulate-faults only applies to --cluster simulated")
    probe_timeout = float(opt("netpol_probe_timeout"))
    enforce_timeout = float(opt("netpol_enforce_timeout"))
    if probe_timeout <= 0 or enforce_timeout < 0:
        raise UsageError("--probe-timeout must be > 0 and --enforce-timeout >= 0 seconds")
    images = dict(DEFAULT_IMAGES)
    for name in ("server", "probe"):
        value = opt(f"netpol_{name}_image")
        if value:
            images[name] = value
    env_kubeconfig = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    kubeconfig = opt("kubeconfig") or env_kubeconfig
    cluster_name = opt("cluster_name")
    manifests = Path(opt("netpol_manifests") or DEFAULT_MANIFESTS)
    if not (manifests / "topology" / "topology.yaml").is_file():
        raise UsageError(f"--manifests {manifests} does not hold topology/topology.yaml")
    results = opt("netpol_results")
    return SuiteSettings(
        cluster=cluster,
        profile=prof,
        kube_context=opt("netpol_kube_context"),
        kubeconfig=kubeconfig or str(Path.home() / ".kube" / "config"),
        keep_cluster=bool(opt("keep_cluster")),
        cluster_name="netpol-conformance"
        if cluster_name in (None, "pytest-kind")
        else cluster_name,
        external_ip=opt("netpol_external_ip"),
        faults=faults,
        simulate_delay=float(opt("netpol_simulate_delay")),
        manifests=manifests,
        images=images,
        pull_policy=opt("netpol_pull_policy"),
        run=RunOptions(
            probe=ProbeSettings(probe_timeout, dns_timeout=int(opt("netpol_dns_timeout"))),
            enforce_timeout=enforce_timeout,
            poll_interval=0.05 if cluster == "simulated" else 1.0,
        ),
        results_path=Path(results) if results else None,
        kind=kind_options(opt),
    )
