"""Truth tables for people: rows are sources, columns are destinations."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from rich import box
from rich.console import Console
from rich.table import Table


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
