"""Tables as the text reports draw them: a terminal (rich) table, and a markdown table whose
untrusted cells are made safe for GitHub-flavoured markdown. (The HTML page's come from its
templates.)"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from rich import box
from rich.table import Table


def terminal_table(title: str, header: Sequence[str], style: str = "bold") -> Table:
    """A titled table with a rule under its header; long cells fold."""
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", title_style=style)
    for name in header:
        table.add_column(name, overflow="fold")
    return table


_SPECIAL = re.compile(r"([\\`*_\[\]{}#+!|~])")
_SPACE = re.compile(r"\s+")


def md_text(text: str) -> str:
    """``text`` as literal markdown on one line: HTML and markdown syntax neutralised."""
    one_line = _SPACE.sub(" ", str(text)).strip()
    return _SPECIAL.sub(r"\\\1", html.escape(one_line, quote=False))


def md_row(cells: list[str]) -> str:
    """A table row of cells already made safe with ``md_text``."""
    return "| " + " | ".join(c or " " for c in cells) + " |"


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [md_row(header), md_row(["---"] * len(header)), *(md_row(r) for r in rows)]


def md_code(text: str) -> str:
    """``text`` as inline code in a table cell (a backtick cannot end it early)."""
    one_line = _SPACE.sub(" ", str(text)).strip().replace("`", "'").replace("|", "\\|")
    return f"`{one_line}`"
