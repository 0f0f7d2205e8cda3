"""Which probes to keep probing through an upgrade, chosen from the tutorial's final state.

The final state (step 5, with steps 1-4 under it) is the one every namespace is isolated in.
From its probe matrix the live set keeps, for every source pod:

- for every destination (each other pod and the external host), one TCP probe per verdict
  the policies give that pair: the first allowed port and the first denied port (most pairs
  have only one of the two; ``frontend/web -> backend/db`` has both: 5432 allowed, 80 not);
- its DNS lookup, so that DNS is watched from every pod of every namespace.

UDP probes and further ports of the same verdict are left out: they cost a process each in
every round and tell about the same rules again. Held connections (long-lived TCP connections
that must survive the upgrade) go over every pair of pods with an allowed TCP port: one per
pair, on its first allowed port. The external host is not held: its server is not ours.
Nothing here touches a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from netpol_conformance.plan.plan import ScenarioPlan
from netpol_conformance.probe.outcome import THROUGH, Outcome
from netpol_conformance.probe.spec import DNS, TCP, Probe
from netpol_conformance.results.upgrade import DOWN, UP


@dataclass(frozen=True)
class LiveProbe:
    probe: Probe
    expected: Outcome  # what it must observe on this CNI
    allowed: bool  # what the policies say (a CNI that does not enforce lets it through anyway)

    @property
    def role(self) -> str:
        """UP when it must keep getting through, DOWN when it must never get through."""
        return UP if self.expected in THROUGH else DOWN


def live_probes(plan: ScenarioPlan) -> tuple[LiveProbe, ...]:
    """The live set of ``plan``, in the matrix's order (source by source)."""
    chosen: dict[tuple[str, str, bool], Probe] = {}
    for p in plan.probes:
        if p.kind == DNS:
            chosen[(p.source, p.kind, True)] = p
        elif p.kind == TCP:
            chosen.setdefault((p.source, p.target, plan.allowed(p)), p)
    keep = set(chosen.values())
    return tuple(LiveProbe(p, plan.expected[p], plan.allowed(p)) for p in plan.probes if p in keep)


def held_paths(plan: ScenarioPlan, pods: Mapping[str, object]) -> tuple[Probe, ...]:
    """One TCP probe per pair of pods whose traffic must get through: the paths to hold open.

    ``pods`` holds the logical names of the deployment's pods (the external host is not one).
    """
    chosen: dict[tuple[str, str], Probe] = {}
    for p in plan.probes:
        if p.kind == TCP and p.target in pods and plan.expected[p] is Outcome.CONNECTED:
            chosen.setdefault((p.source, p.target), p)
    return tuple(chosen.values())
