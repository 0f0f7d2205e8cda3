"""The suite's settings, from pytest options, validated once with clear messages."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netpol_conformance.cluster.base import ClusterInfo
from netpol_conformance.cluster.kind.options import KindOptions, kind_options
from netpol_conformance.cluster.kubeconfig import kubeconfig_path, require_kube_context
from netpol_conformance.cluster.providers import ExistingProvider, LocalProvider, Provider
from netpol_conformance.cni import PROFILES, CniProfile, profile
from netpol_conformance.errors import UsageError
from netpol_conformance.model.addresses import plain_address
from netpol_conformance.output_files import check_output
from netpol_conformance.plan.layout import DEFAULT_MANIFESTS, load_layout
from netpol_conformance.probe.commands import ProbeSettings
from netpol_conformance.run.options import RunOptions
from netpol_conformance.sim.faults import Faults

CLUSTERS = ("kind", "existing", "simulated", "local")


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
    image_overrides: dict[str, str] = field(default_factory=dict)  # --server/--probe-image
    pull_policy: str | None = None
    run: RunOptions = field(default_factory=RunOptions)
    results_path: Path | None = None
    local_script: Path | None = None
    cni_host_agent: bool = False  # --cni-host-agent
    hold: float = 20.0  # --hold: seconds the final state is probed on after it converged
    kind: KindOptions = field(default_factory=KindOptions)  # --k8s-version, --kind-image, ...

    def run_options(self, info: ClusterInfo) -> RunOptions:
        """The run's options on this cluster: it may bring its own images (the local cluster
        has no registry); explicit --server-image/--probe-image win over both."""
        images = {**info.images, **self.image_overrides}  # else the pod template's pins
        pull = self.pull_policy or (info.image_pull_policy if info.images else None)
        return dataclasses.replace(self.run, images=images, pull_policy=pull)

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
    if cluster == "kind" and prof.kind is None:
        known = ", ".join(n for n, p in PROFILES.items() if p.kind)
        raise UsageError(f"--cluster kind supports --cni {known}; got {prof.name!r}")
    if cluster == "existing" and not opt("netpol_kube_context"):
        raise UsageError(
            "--cluster existing needs --kube-context NAME: the suite creates namespaces and "
            "pods, so it never guesses the cluster from your current context"
        )
    probe_timeout = _seconds(opt, "netpol_probe_timeout", "--probe-timeout", most=MAX_PROBE_SECONDS)
    dns_timeout = _seconds(opt, "netpol_dns_timeout", "--dns-timeout", most=MAX_PROBE_SECONDS)
    enforce_timeout = _seconds(opt, "netpol_enforce_timeout", "--enforce-timeout", zero_ok=True)
    if opt("netpol_confirm_window") is None:
        confirm_window = 1.0 if cluster == "simulated" else 3.0
    else:
        confirm_window = _seconds(opt, "netpol_confirm_window", "--confirm-window", zero_ok=True)
    simulate_delay = _seconds(opt, "netpol_simulate_delay", "--simulate-delay", zero_ok=True)
    if opt("netpol_hold") is None:
        hold = 12.0 if cluster == "simulated" else 20.0
    else:
        hold = _seconds(opt, "netpol_hold", "--hold", zero_ok=True, most=3600.0)
    budget = None
    if opt("netpol_max_time_to_enforce") is not None:
        budget = _seconds(opt, "netpol_max_time_to_enforce", "--max-time-to-enforce", zero_ok=True)
    external_ip = _address(opt("netpol_external_ip"))
    overrides = {n: opt(f"netpol_{n}_image") for n in ("server", "probe")}
    kubeconfig = kubeconfig_path(opt("kubeconfig"))
    if cluster == "existing":
        # Before any cluster work: a readable kubeconfig that has the context.
        require_kube_context(kubeconfig, opt("netpol_kube_context"))
    cluster_name = opt("cluster_name")
    manifests = Path(opt("netpol_manifests") or DEFAULT_MANIFESTS)
    if not (manifests / "topology" / "topology.yaml").is_file():
        raise UsageError(f"--manifests {manifests} does not hold topology/topology.yaml")
    results = opt("netpol_results")
    check_output(results, "--netpol-results")
    local_script = opt("netpol_local_script")
    return SuiteSettings(
        cluster=cluster,
        profile=prof,
        kube_context=opt("netpol_kube_context"),
        kubeconfig=kubeconfig,
        keep_cluster=bool(opt("keep_cluster")),
        cluster_name="netpol-conformance"
        if cluster_name in (None, "pytest-kind")
        else cluster_name,
        external_ip=external_ip,
        faults=faults,
        simulate_delay=simulate_delay,
        manifests=manifests,
        image_overrides={n: v for n, v in overrides.items() if v},
        pull_policy=opt("netpol_pull_policy"),
        run=RunOptions(
            probe=ProbeSettings(probe_timeout, dns_timeout=max(1, math.ceil(dns_timeout))),
            enforce_timeout=enforce_timeout,
            poll_interval=0.05 if cluster == "simulated" else 0.5,
            confirm_window=confirm_window,
            strict_deny_style=bool(opt("netpol_strict_deny_style")),
            max_time_to_enforce=budget,
        ),
        results_path=Path(results) if results else None,
        local_script=Path(local_script) if local_script else None,
        cni_host_agent=bool(opt("netpol_cni_host_agent")),
        hold=hold,
        kind=kind_options(opt),
    )


# A probe that waits longer than this is no probe: curl, socat and dig are handed these
# numbers, and an exec must outlast them (1e308 s overflowed in every test).
MAX_PROBE_SECONDS = 300.0


def _seconds(
    opt: Callable[[str], Any],
    name: str,
    flag: str,
    zero_ok: bool = False,
    most: float | None = None,
) -> float:
    """A finite number of seconds, > 0 (or >= 0), at most ``most``; one clear line otherwise."""
    raw = opt(name)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        bound = ">= 0" if zero_ok else "> 0"
        raise UsageError(f"{flag} must be a finite number of seconds {bound}; got {raw!r}")
    if most is not None and value > most:
        raise UsageError(f"{flag} must be at most {most:g} seconds; got {raw!r}")
    return value


def _address(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return str(plain_address(raw.strip()))
    except ValueError:
        raise UsageError(
            f"--external-ip must be an IP address (the step-4 host outside the pod network, "
            f"listening on TCP 80 and 5432); got {raw!r}"
        ) from None


def local_cluster_script(settings: SuiteSettings, rootdir: Path) -> Path:
    """``--local-cluster-script``, or scripts/local-cluster of the checkout at ``rootdir``."""
    return settings.local_script or rootdir / "scripts" / "local-cluster"


def make_provider(settings: SuiteSettings, rootdir: Path) -> Provider:
    p = settings.profile
    layout = load_layout(settings.manifests)
    if settings.cluster == "simulated":
        from netpol_conformance.sim.provider import SimulatedProvider

        return SimulatedProvider(
            p,
            settings.faults,
            settings.simulate_delay,
            settings.run.probe.timeout,
            layout.external_ports,
        )
    if settings.cluster == "existing":
        assert settings.kube_context is not None  # build_settings insists on it
        return ExistingProvider(p, settings.kubeconfig, settings.kube_context, settings.external_ip)
    if settings.cluster == "local":
        return LocalProvider(p, local_cluster_script(settings, rootdir))
    from netpol_conformance.cluster.kind.provider import KindProvider

    return KindProvider(
        p,
        settings.cluster_name,
        settings.keep_cluster,
        settings.image_overrides.get("server", layout.images["server"]),
        Path.home() / ".cache" / "netpol-conformance" / "kind",
        settings.kind,
        external_ports=layout.external_ports,
    )
