"""A step's probes as truth tables: rows are sources, columns destinations, one per port."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from netpol_conformance.probe.spec import DNS
from netpol_conformance.report.marks import mark
from netpol_conformance.results.records import ProbeRecord, StepResult

MET = "met"
MISS = "miss"  # not as expected
DEVIATION = "deviation"  # not as expected, covered by an expected deviation of the CNI
UNOBSERVED = "unobserved"

SUFFIX = {MET: "", MISS: "*", DEVIATION: "~", UNOBSERVED: "*"}


@dataclass(frozen=True)
class Grid:
    title: str  # "80/TCP", or "dns: dig NAME" ("dns/TCP: dig +tcp NAME")
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: Mapping[tuple[str, str], ProbeRecord]

    def cell(self, row: str, column: str) -> ProbeRecord | None:
        return self.cells.get((row, column))


def cell_state(record: ProbeRecord) -> str:
    if record.met:
        return MET
    if record.deviation:
        return DEVIATION
    return UNOBSERVED if record.observed is None else MISS


def expected_mark(record: ProbeRecord) -> str:
    return mark(record.expected)


def observed_mark(record: ProbeRecord) -> str:
    """The observation's mark, with ``*`` when it is not as expected, ``~`` for a deviation."""
    return mark(record.observed) + SUFFIX[cell_state(record)]


def group_of(record: ProbeRecord) -> str:
    p = record.probe
    if p.kind == DNS:
        return f"dns/TCP: dig +tcp {p.name}" if p.protocol == "TCP" else f"dns: dig {p.name}"
    return f"{p.port}/{p.protocol}"


def grids(step: StepResult) -> list[Grid]:
    """One truth table per port/protocol (and per DNS name), in the order probes appear."""
    groups: dict[str, list[ProbeRecord]] = {}
    for record in step.probes:
        groups.setdefault(group_of(record), []).append(record)
    out = []
    for title, records in groups.items():
        rows = tuple(dict.fromkeys(r.probe.source for r in records))
        targets = list(dict.fromkeys(r.probe.target for r in records))
        columns = tuple([r for r in rows if r in targets] + [t for t in targets if t not in rows])
        cells = {(r.probe.source, r.probe.target): r for r in records}
        out.append(Grid(title, rows, columns, cells))
    return out
