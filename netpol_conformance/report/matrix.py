"""A step's probe matrix for people: expected and observed truth tables, and what failed."""

from __future__ import annotations

from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.probe.spec import DNS
from netpol_conformance.report.marks import LEGEND, MARKS
from netpol_conformance.report.truth_table import render_table
from netpol_conformance.results.records import ProbeRecord, StepResult


def mark(outcome: Outcome) -> str:
    return MARKS.get(outcome, "?")


def probe_group(record: ProbeRecord) -> str:
    """The table a probe belongs to: one per port and protocol, one for DNS."""
    p = record.probe
    if p.kind == DNS:
        return "dns (dig +tcp)" if p.protocol == "TCP" else "dns (dig)"
    return f"{p.port}/{p.protocol}"


def tables(result: StepResult, only_failing: bool = False) -> str:
    """Expected and observed truth tables, one pair per port (and one for DNS)."""
    groups: dict[str, list[ProbeRecord]] = {}
    for r in result.probes:
        groups.setdefault(probe_group(r), []).append(r)
    out = []
    for group, records in groups.items():
        if only_failing and all(r.met for r in records):
            continue
        rows = list(dict.fromkeys(r.probe.source for r in records))
        targets = {r.probe.target for r in records}
        cols = [r for r in rows if r in targets]
        cols += sorted(targets - set(cols))
        by_cell = {(r.probe.source, r.probe.target): r for r in records}

        def exp(row: str, col: str, by_cell: dict = by_cell) -> str:
            r = by_cell.get((row, col))
            return mark(r.expected) if r else "-"

        def obs(row: str, col: str, by_cell: dict = by_cell) -> str:
            r = by_cell.get((row, col))
            if not r:
                return "-"
            seen = mark(r.observed.outcome) if r.observed else "?"
            return seen if r.met else f"{seen}*"

        out.append(render_table(f"{group} expected", rows, cols, exp))
        out.append(render_table(f"{group} observed", rows, cols, obs))
    return "\n".join(out)


def failure_summary(result: StepResult, limit: int = 12) -> str:
    failing = result.failing
    head = (
        f"{result.scenario}: {result.step}: {len(failing)} of {len(result.probes)} probes not "
        f"as expected after {result.polls} poll{'s' if result.polls != 1 else ''}"
    )
    lines = [head, LEGEND, tables(result, only_failing=True)]
    if result.flapping:
        lines.append("flapping: " + ", ".join(result.flapping))
    for r in failing[:limit]:
        lines.append(
            f"  {r.probe.label}: expected {r.expected.value}, observed {r.observed}\n"
            f"    probe: {r.command}"
        )
    if len(failing) > limit:
        lines.append(f"  ... and {len(failing) - limit} more")
    return "\n".join(lines)
