"""The plan of a run: which probes each scenario makes and what each must observe.

Built once from the topology, the CNI profile and whether an external host exists, then read
by collection (one test per probe), by the run (what to poll and judge) and by every report.
Nothing here touches a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from netpol_conformance.cni import CniProfile
from netpol_conformance.plan.catalogue import ALL, Scenario
from netpol_conformance.plan.judge import expected_outcome
from netpol_conformance.plan.layout import DNS_TARGET, Layout
from netpol_conformance.probe.kinds import KINDS, server_kind
from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.probe.spec import DNS, TCP, Probe

NO_EXTERNAL = "no external host: pass --external-ip (a host outside the pod network on 80 and 5432)"


def matrix_probes(layout: Layout, with_external: bool) -> tuple[Probe, ...]:
    """Every probe of the tutorial matrix, in logical names, in a stable order."""
    probes: list[Probe] = []
    for src in layout.pods:
        for dst in layout.pods:
            if dst != src:
                probes += [
                    Probe(src.key, server_kind(sp.protocol).name, dst.key, sp.port, sp.protocol)
                    for sp in layout.server_ports
                ]
        if with_external:
            probes += [Probe(src.key, TCP, layout.external_name, p) for p in layout.external_ports]
        probes += [
            Probe(src.key, DNS, DNS_TARGET, 53, protocol, layout.dns_name)
            for protocol in KINDS[DNS].protocols  # allow-dns-egress allows both: both probed
        ]
    return tuple(probes)


def table_allows(scenario: Scenario, probe: Probe) -> bool:
    """The hand-written table's verdict on one probe."""
    return scenario.expect_allowed(probe.source, probe.target, probe.port, probe.protocol)


@dataclass(frozen=True)
class ScenarioPlan:
    """One scenario's probes and the exact outcome each must observe on this CNI."""

    scenario: Scenario
    profile: CniProfile
    probes: tuple[Probe, ...]
    skip_reason: str | None = None  # the scenario cannot run here (and why)

    @cached_property
    def expected(self) -> Mapping[Probe, Outcome]:
        return {
            p: expected_outcome(p.kind, table_allows(self.scenario, p), self.profile)
            for p in self.probes
        }

    def allowed(self, probe: Probe) -> bool:
        """Whether the tutorial's policies allow this probe (whatever the CNI enforces)."""
        return table_allows(self.scenario, probe)

    @property
    def denied(self) -> tuple[Probe, ...]:
        return tuple(p for p in self.probes if not self.allowed(p))


@dataclass(frozen=True)
class SuitePlan:
    """Every scenario's plan for one run. Which probes exist is decided here, once."""

    layout: Layout
    profile: CniProfile
    has_external: bool
    scenarios: Mapping[str, ScenarioPlan]

    def __getitem__(self, scenario_id: str) -> ScenarioPlan:
        return self.scenarios[scenario_id]

    @property
    def probes(self) -> tuple[Probe, ...]:
        return next(iter(self.scenarios.values())).probes


def build_plan(
    layout: Layout,
    profile: CniProfile,
    has_external: bool,
    scenarios: tuple[Scenario, ...] = ALL,
) -> SuitePlan:
    probes = matrix_probes(layout, with_external=has_external)
    plans = {
        s.id: ScenarioPlan(
            s, profile, probes, NO_EXTERNAL if s.uses_external and not has_external else None
        )
        for s in scenarios
    }
    return SuitePlan(layout, profile, has_external, plans)
