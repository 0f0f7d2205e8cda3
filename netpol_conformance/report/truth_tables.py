"""A step's probes as truth tables: rows are sources, columns destinations, one table per port
and protocol (and per DNS lookup). The grids are what every report draws (terminal, HTML,
markdown); here they are also rendered as plain text, with the failure summary a failed test
shows."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.table import Table

from netpol_conformance.probe.kinds import kind_of
from netpol_conformance.report.marks import DEVIATES, DIFFERS, LEGEND, mark
from netpol_conformance.results.records import ProbeRecord, StepResult


def render_table(
    title: str,
    rows: Sequence[str],
    columns: Sequence[str],
    cell: Callable[[str, str], str],
) -> str:
    """Render one truth table as plain text; ``cell(row, column)`` gives each cell's mark."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("from \\ to", no_wrap=True)
    for col in columns:
        table.add_column(col, justify="center", no_wrap=True)
    for row in rows:
        table.add_row(row, *(cell(row, col) for col in columns))
    buf = io.StringIO()
    width = max(80, 14 + sum(len(c) + 3 for c in (*rows[:1], *columns)) + 40)
    Console(file=buf, width=width, color_system=None, highlight=False).print(table)
    body = "\n".join(line.rstrip() for line in buf.getvalue().strip("\n").splitlines())
    return f"{title}\n{body}\n"


MET = "met"
MISS = "miss"  # not as expected
DEVIATION = "deviation"  # not as expected, covered by an expected deviation of the CNI
UNOBSERVED = "unobserved"

SUFFIX = {MET: "", MISS: DIFFERS, DEVIATION: DEVIATES, UNOBSERVED: DIFFERS}


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
    if kind_of(p).to_cluster_dns:
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


Mark = Callable[[ProbeRecord], str]


def tables(result: StepResult, only_failing: bool = False) -> str:
    """Expected and observed truth tables, one pair per port (and per DNS lookup)."""
    out = []
    for grid in grids(result):
        if only_failing and all(r.met for r in grid.cells.values()):
            continue
        for which, text in (("expected", expected_mark), ("observed", observed_mark)):

            def cell(row: str, column: str, grid: Grid = grid, text: Mark = text) -> str:
                record = grid.cell(row, column)
                return text(record) if record else "-"

            out.append(render_table(f"{grid.title} {which}", grid.rows, grid.columns, cell))
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
