"""Tables as the reports draw them: an HTML list table, and a terminal (rich) table."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from rich import box
from rich.table import Table


def html_table(header: Sequence[str], body: Sequence[Sequence[str]], row_class: str = "") -> str:
    """A ``<table class="list">`` of escaped text cells, every row of ``row_class``."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    trs = "".join(
        f'<tr class="{row_class}">' + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
        for row in body
    )
    return f'<table class="list"><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>'


def terminal_table(title: str, header: Sequence[str], style: str = "bold") -> Table:
    """A titled table with a rule under its header; long cells fold."""
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", title_style=style)
    for name in header:
        table.add_column(name, overflow="fold")
    return table
