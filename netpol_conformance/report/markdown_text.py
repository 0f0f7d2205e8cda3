"""Untrusted text made safe for GitHub-flavoured markdown: table cells and inline code."""

from __future__ import annotations

import html
import re

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
