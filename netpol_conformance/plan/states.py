"""The plan of one state of a catalogue scenario: its probes and what each must observe.

A state is probed between every two different pods that exist in it (pods a scenario creates
count from the state that creates them) on each of the scenario's ports, and judged by the
state's hand-written table, as a tutorial step is by its own. Nothing here touches a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from netpol_conformance.cni import CniProfile
from netpol_conformance.plan.catalogue import Scenario as RunScenario
from netpol_conformance.plan.plan import ScenarioPlan
from netpol_conformance.probe.kinds import server_kind
from netpol_conformance.probe.spec import Probe
from netpol_conformance.scenarios.evaluate import probes as probe_triples
from netpol_conformance.scenarios.model import CreatePod, Scenario, State

GROUP = "catalogue"
# A protocol the suite has no probe for: its states are skipped with this reason.
NO_PROBE = "the suite has no {protocol} probe: these probes are not run (never passed)"
# A CNI whose profile says it does not enforce policies on SCTP.
SCTP_UNENFORCED = (
    "{cni} does not enforce NetworkPolicy on SCTP (its CNI profile, netpol_conformance/cni.py): "
    "these SCTP probes are not run (never passed)"
)
# The control probes found that the node's kernel cannot open an SCTP socket.
NO_SCTP_KERNEL = (
    "the node's kernel cannot carry SCTP (the control probe: {detail}): these SCTP probes are "
    "not run (never passed)"
)


def pods_in(scenario: Scenario, state: State, topology_pods: Sequence[str]) -> tuple[str, ...]:
    """The pods that exist once ``state`` is reached: the topology's and those created by it
    or a state before it."""
    created: list[str] = []
    for s in scenario.states:
        created += [c.key for c in s.changes if isinstance(c, CreatePod)]
        if s is state:
            break
    return (*topology_pods, *created)


def state_probes(scenario: Scenario, pods: Sequence[str]) -> tuple[Probe, ...]:
    """Every probe of a state (every two different pods, every port of the scenario)."""
    out = []
    for src, dst, port_key in probe_triples(scenario, tuple(pods)):
        number, protocol = port_key.split("/")
        out.append(Probe(src, server_kind(protocol).name, dst, int(number), protocol))
    return tuple(out)


def skip_reason(
    scenario: Scenario, profile: CniProfile, unavailable: Mapping[str, str] | None = None
) -> str | None:
    """Why the scenario cannot be probed here, or None: a protocol the suite has no probe for,
    SCTP on a CNI that does not enforce it, or a protocol the run found unavailable
    (``unavailable``: protocol -> reason, from the control probes)."""
    for port_key in scenario.ports:
        if reason := protocol_skip_reason(port_key.split("/")[1], profile, unavailable):
            return reason
    return None


def protocol_skip_reason(
    protocol: str, profile: CniProfile, unavailable: Mapping[str, str] | None = None
) -> str | None:
    """Why probes over ``protocol`` cannot mean anything here, or None (see ``skip_reason``)."""
    try:
        server_kind(protocol)
    except ValueError:
        return NO_PROBE.format(protocol=protocol)
    if protocol == "SCTP" and profile.sctp_unenforced:
        return SCTP_UNENFORCED.format(cni=profile.name)
    if unavailable and protocol in unavailable:
        return unavailable[protocol]
    return None


def state_plan(
    scenario: Scenario,
    state: State,
    profile: CniProfile,
    topology_pods: Sequence[str],
    unavailable: Mapping[str, str] | None = None,
) -> ScenarioPlan:
    """The state's probes with the outcome each must observe on this CNI."""
    reason = skip_reason(scenario, profile, unavailable)
    probes = () if reason else state_probes(scenario, pods_in(scenario, state, topology_pods))
    as_run = RunScenario(scenario.id, (), state.table, group=GROUP)
    return ScenarioPlan(as_run, profile, probes, reason)
