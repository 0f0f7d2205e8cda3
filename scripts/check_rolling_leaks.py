#!/usr/bin/env python3
"""Check that an upgrade-check around a node-by-node switch-off saw each leak start only once
every node that denies the probe had its enforcer switched off, and print when each node's
leaks began.

    scripts/check_rolling_leaks.py AFTER.json

AFTER.json is the ``after`` results file of ``netpol-conformance upgrade-check --out DIR``
(DIR/after.json): its ``upgrade`` section holds the live probes and the events the upgrade
command printed (``kube-router/NODE stopping|stopped|rules-removed TIME`` from
``scripts/local-cluster cni stop --node K``), its steps say which directions deny each probe
(``denied_by``) and its cluster which node runs each pod. A denied probe is enforced by the
source's node (egress) and by the destination's (ingress); it may get through only once all of
those nodes were switched off.

When exactly a node's rules went is known only between two stamps: its switch-off began at
``stopping`` and its rules were gone by ``rules-removed`` (stamped after the one
iptables-restore that removes them returned). A leak is stamped on the pod's boot clock when
its tool ended, cut to hundredths (``upgrade.clock.RESOLUTION``): it may read up to 10 ms
early. So a leak is early only when it was seen before its last enforcing node's switch-off
began; one seen a few milliseconds before ``rules-removed`` is not.

Exit 0 when every denied live probe leaked, none before its time, and the nodes were switched
off at different moments (so their leaks start apart); 1 otherwise (with the offending
probes); 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from netpol_conformance.errors import ResultsFileError
from netpol_conformance.results.load import load_results
from netpol_conformance.results.records import RunRecord, enforcing_nodes
from netpol_conformance.upgrade.clock import RESOLUTION

STOPPING = "stopping"
REMOVED = "rules-removed"
SHOWN = 10


@dataclass(frozen=True)
class Leak:
    label: str
    enforcers: frozenset[str]  # the nodes whose rules deny it
    first: float | None  # seconds from the upgrade command's start; None: never leaked


@dataclass(frozen=True)
class SwitchOff:
    began: float  # its agent's "stopping" (its "rules-removed" when it printed none)
    removed: float  # its "rules-removed": the rules were gone by then


def switched_off(run: RunRecord) -> dict[str, SwitchOff]:
    """Each node whose enforcer's rules were removed, with when (from ``AGENT/NODE`` events)."""
    assert run.upgrade is not None
    first: dict[tuple[str, str], float] = {}
    for e in run.upgrade.events:
        if "/" in e.agent:
            first.setdefault((e.agent.split("/", 1)[1], e.event), e.at)
    return {
        node: SwitchOff(min(first.get((node, STOPPING), at), at), at)
        for (node, event), at in first.items()
        if event == REMOVED
    }


def leaks(run: RunRecord) -> list[Leak]:
    """Every live probe the policies deny, with the nodes that enforce it and its first leak."""
    assert run.upgrade is not None
    node_of = run.cluster.node_of
    denied_by = {r.label: r.denied_by for s in run.steps for r in s.probes}
    out = []
    for p in run.upgrade.probes:
        if p.allowed:
            continue
        # a file before 2.3 lacks the probe's own nodes: they come from its step's records
        directions = denied_by.get(p.label, ())
        enforcers = frozenset(p.enforced_on) or enforcing_nodes(
            node_of, p.source, p.target, directions
        )
        first = min(p.leaks, default=None)
        out.append(Leak(p.label, enforcers, first))
    return out


def check(run: RunRecord) -> tuple[list[str], list[str]]:
    """The problems (empty: as it should be) and the summary lines, one per group of nodes."""
    if run.upgrade is None:
        return ["the file has no upgrade section: pass DIR/after.json of upgrade-check"], []
    off = switched_off(run)
    problems = []
    if len(off) < 2:
        problems.append(
            f"the upgrade command switched off {len(off)} node(s) ({', '.join(off) or 'none'}): "
            "expected kube-router/NODE rules-removed events for two nodes"
        )
    elif len({o.removed for o in off.values()}) < len(off):
        problems.append("the nodes were switched off at the same moment: nothing to order")
    found = leaks(run)
    if not found:
        problems.append("no live probe is denied by the policies")
    early, never, unknown = [], [], []
    for leak in found:
        if not leak.enforcers or not leak.enforcers <= off.keys():
            unknown.append(leak)
        elif leak.first is None:
            never.append(leak)
        elif leak.first + RESOLUTION < max(off[n].began for n in leak.enforcers):
            early.append(leak)
    for what, group in (
        ("got through before every node that denies it was switched off", early),
        ("never got through, though every node that denies it was switched off", never),
        ("have no enforcing node that the upgrade command switched off", unknown),
    ):
        if group:
            problems.append(f"{len(group)} denied probes {what}:")
            problems += [
                f"  {g.label} (enforced on {', '.join(sorted(g.enforcers)) or '?'}, "
                f"first leak {'-' if g.first is None else f'{g.first:+.2f} s'})"
                for g in group[:SHOWN]
            ]
    summary = []
    by_last: dict[str, list[Leak]] = {}
    for leak in found:
        if leak.first is not None and leak.enforcers <= off.keys():
            last = max(leak.enforcers, key=lambda n: off[n].removed)
            by_last.setdefault(last, []).append(leak)
    for node in sorted(by_last, key=lambda n: off[n].removed):
        group, o = by_last[node], off[node]
        summary.append(
            f"{node} switched off from {o.began:+.2f} s to {o.removed:+.2f} s: {len(group)} "
            f"denied probes leaked from {min(g.first or 0.0 for g in group):+.2f} s"
        )
    return problems, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("after", type=Path)
    ns = parser.parse_args(argv)
    try:
        run = load_results(ns.after)
    except ResultsFileError as exc:
        print(f"check_rolling_leaks: {exc}", file=sys.stderr)
        return 2
    problems, summary = check(run)
    for line in summary:
        print(f"check_rolling_leaks: {line}")
    if problems:
        print("check_rolling_leaks: the leaks did not follow the switch-off node by node:")
        print("\n".join(f"  {p}" for p in problems))
        return 1
    print("check_rolling_leaks: every denied live probe leaked, none before its nodes were off")
    return 0


if __name__ == "__main__":
    sys.exit(main())
