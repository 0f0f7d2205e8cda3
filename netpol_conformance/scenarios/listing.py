"""The catalogue for people: a list of its scenarios by family, and one scenario state by state
with what changes and the table it expects (checked cell by cell against the oracle)."""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from netpol_conformance.model.topology import Topology
from netpol_conformance.scenarios.evaluate import walk
from netpol_conformance.scenarios.model import Apply, ApplyManifests, Scenario, Update
from netpol_conformance.scenarios.upstream import API_SUITE, API_TESTS, FAMILIES, SPECS

ALLOWED, DENIED, DIFFERS = ".", "X", "!"


def _spec(scenario: Scenario) -> str:
    return f"upstream {scenario.upstream}" if scenario.upstream else "ours"


def catalogue_text(scenarios: Sequence[Scenario]) -> str:
    """Every scenario under its family: id, what it mirrors, its states and ports."""
    lines = []
    width = max(len(s.id) for s in scenarios)
    for family, title in FAMILIES.items():
        members = [s for s in scenarios if s.family == family]
        if not members:
            continue
        lines.append(f"{title} ({family}, {len(members)})")
        for s in members:
            states = f"{len(s.states)} state{'s' if len(s.states) > 1 else ''}"
            what = SPECS[s.upstream][1] if s.upstream else "beyond upstream"
            ports = " ".join(s.ports)
            lines.append(f"  {s.id.ljust(width)}  {_spec(s):<11}  {states:<8}  {ports:<24}  {what}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def catalogue_markdown(scenarios: Sequence[Scenario]) -> str:
    """The family table of the README: each family, its scenarios and what they mirror."""
    rows = ["| family | scenario | upstream spec | states | probes |", "|---|---|---|---|---|"]
    for family, title in FAMILIES.items():
        for s in (s for s in scenarios if s.family == family):
            spec = f"{s.upstream}: {SPECS[s.upstream][1]}" if s.upstream else "(beyond upstream)"
            ports = ", ".join(s.ports)
            rows.append(f"| {title} | `{s.id}` | {spec} | {len(s.states)} | {ports} |")
    return "\n".join(rows) + "\n"


def families_markdown(scenarios: Sequence[Scenario]) -> str:
    """One row per family: how many scenarios, the upstream specs they mirror, and ours."""
    rows = [
        "| family | scenarios | upstream specs mirrored | beyond upstream |",
        "|---|---|---|---|",
    ]
    for family, title in FAMILIES.items():
        members = [s for s in scenarios if s.family == family]
        tests = sorted(n for n in API_TESTS if SPECS[n][0] == family)
        mirrored = sorted({*(s.upstream for s in members if s.upstream), *tests})
        missing = sorted(n for n, (f, _) in SPECS.items() if f == family and n not in set(mirrored))
        specs = ", ".join(map(str, mirrored)) or "-"
        if tests:
            specs += f" (tests in `{API_SUITE}`)"
        if missing:
            specs += f" (not yet: {', '.join(map(str, missing))})"
        ours = ", ".join(f"`{s.id}`" for s in members if not s.upstream)
        count = f"{len(members)}" + (f" + {len(tests)} tests" if tests else "")
        rows.append(f"| {title} | {count} | {specs} | {ours} |")
    return "\n".join(rows) + "\n"


def scenario_text(scenario: Scenario, topology: Topology, policies: bool = False) -> str:
    """The scenario state by state: its changes (and the policies they apply, with
    ``policies``), then one table per probed port; a cell where the oracle disagrees with the
    hand-written table is marked ``!``."""
    what = SPECS[scenario.upstream][1] if scenario.upstream else "beyond upstream"
    out = [f"{scenario.id}: {FAMILIES[scenario.family]}, {_spec(scenario)} ({what})"]
    disagreeing = 0
    for i, reached in enumerate(walk(scenario, topology), 1):
        state = reached.state
        out.append("")
        out.append(f"state {i}/{len(scenario.states)}: {state.id}")
        out += [f"  {change}" for change in state.changes] or ["  (nothing changes)"]
        if policies:
            for change in state.changes:
                if isinstance(change, Apply | Update):
                    text = yaml.safe_dump(dict(change.policy), sort_keys=False).rstrip()
                    out += ["    " + line for line in text.splitlines()]
                elif isinstance(change, ApplyManifests):
                    out.append(f"    (the manifests of {change.folder})")
        oracle = reached.oracle()
        pods = [p.key for p in reached.topology.pods]
        width = max(len(p) for p in pods)
        for port_key in scenario.ports:
            number, protocol = port_key.split("/")
            out.append(f"  {port_key}  ({ALLOWED} allowed, {DENIED} denied)")
            out.append("  " + " " * width + "  " + " ".join(p.center(len(p)) for p in pods))
            for src in pods:
                cells = []
                for dst in pods:
                    if src == dst:
                        cells.append("-".center(len(dst)))
                        continue
                    table = state.allowed(src, dst, port_key)
                    agrees = oracle.explain(src, dst, int(number), protocol).allowed == table
                    disagreeing += not agrees
                    mark = (ALLOWED if table else DENIED) if agrees else DIFFERS
                    cells.append(mark.center(len(dst)))
                out.append("  " + src.ljust(width) + "  " + " ".join(cells).rstrip())
    out.append("")
    if disagreeing:
        out.append(
            f"{disagreeing} cell(s) marked {DIFFERS}: the oracle disagrees with the table "
            "(a mistake in the catalogue)"
        )
    else:
        out.append("the oracle agrees with every cell of every state")
    return "\n".join(out) + "\n"
