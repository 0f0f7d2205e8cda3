"""A scenario walked through the oracle: the cluster after each state's changes, and where a
state's hand-written table and the oracle disagree (a mistake in the catalogue, never of a
CNI)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from netpol_conformance.model.topology import Topology
from netpol_conformance.policy.oracle import Oracle
from netpol_conformance.policy.parse import parse_policies
from netpol_conformance.scenarios.build import render_addresses
from netpol_conformance.scenarios.model import (
    Apply,
    CreatePod,
    Delete,
    Label,
    Scenario,
    State,
    Update,
)
from netpol_conformance.scenarios.topology import catalogue_pod


@dataclass(frozen=True)
class Reached:
    """The cluster as a state leaves it: its topology (labels) and the policies in force."""

    state: State
    topology: Topology
    policies: tuple[Mapping[str, Any], ...]  # rendered: addresses put in

    def oracle(self) -> Oracle:
        docs = [(f"{self.state.id}[{i}]", doc) for i, doc in enumerate(self.policies)]
        return Oracle(self.topology, parse_policies(docs))


def walk(scenario: Scenario, topology: Topology) -> Iterator[Reached]:
    """Every state of the scenario in order, each on top of the ones before it."""
    policies: dict[tuple[str, str], Mapping[str, Any]] = {}

    def address(key: str) -> str:
        return str(topology.pod(key).ip)

    for state in scenario.states:
        for change in state.changes:
            if isinstance(change, Apply | Update):
                meta = change.policy["metadata"]
                key = (meta["namespace"], meta["name"])
                if isinstance(change, Apply) and key in policies:
                    raise ValueError(f"{scenario.id}/{state.id}: {change}: it exists already")
                if isinstance(change, Update) and key not in policies:
                    raise ValueError(f"{scenario.id}/{state.id}: {change}: nothing to update")
                policies[key] = render_addresses(change.policy, address)
            elif isinstance(change, Delete):
                if policies.pop((change.namespace, change.name), None) is None:
                    raise ValueError(f"{scenario.id}/{state.id}: {change}: nothing to delete")
            elif isinstance(change, Label):
                topology = relabelled(topology, change)
            elif isinstance(change, CreatePod):
                topology = with_pod(topology, change)
        yield Reached(state, topology, tuple(policies.values()))


def with_pod(topology: Topology, change: CreatePod) -> Topology:
    if any(p.key == change.key for p in topology.pods):
        raise ValueError(f"{change}: the pod exists already")
    index = sum(p.namespace == change.namespace for p in topology.pods)
    pod = catalogue_pod(change.namespace, change.name, index, dict(change.labels))
    return dataclasses.replace(topology, pods=(*topology.pods, pod))


def relabelled(topology: Topology, change: Label) -> Topology:
    def labels(old: Mapping[str, str]) -> dict[str, str]:
        out = {k: v for k, v in old.items() if k not in change.remove}
        return {**out, **change.set}

    if change.on_pod:
        topology.pod(change.target)  # KeyError for a pod that does not exist
        pods = tuple(
            dataclasses.replace(p, labels=labels(p.labels)) if p.key == change.target else p
            for p in topology.pods
        )
        return dataclasses.replace(topology, pods=pods)
    topology.namespace(change.target)
    namespaces = tuple(
        dataclasses.replace(n, labels=labels(n.labels)) if n.name == change.target else n
        for n in topology.namespaces
    )
    return dataclasses.replace(topology, namespaces=namespaces)


def probes(scenario: Scenario, pods: tuple[str, ...]) -> Iterator[tuple[str, str, str]]:
    """(source, destination, port key) of every probe: every two different pods, every port."""
    for src in pods:
        for dst in pods:
            if src != dst:
                for port_key in scenario.ports:
                    yield src, dst, port_key


def disagreements(scenario: Scenario, topology: Topology) -> list[str]:
    """Every probe of every state where the table and the oracle say different things."""
    out = []
    for reached in walk(scenario, topology):
        oracle = reached.oracle()
        pods = tuple(p.key for p in reached.topology.pods)
        for src, dst, port_key in probes(scenario, pods):
            number, protocol = port_key.split("/")
            verdict = oracle.explain(src, dst, int(number), protocol)
            if verdict.allowed != reached.state.allowed(src, dst, port_key):
                said = "allowed" if reached.state.allowed(src, dst, port_key) else "denied"
                out.append(
                    f"{scenario.id}/{reached.state.id}: {src}->{dst}:{port_key}: table says "
                    f"{said}, oracle says {'allowed' if verdict.allowed else 'denied'} "
                    f"({verdict.reason})"
                )
    return out
