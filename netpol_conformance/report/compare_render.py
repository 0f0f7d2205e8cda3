"""A comparison for people (a rich terminal table, markdown) and for programs (JSON)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from netpol_conformance.report.compare_rows import (
    DEFAULT_LIMIT,
    HEADER,
    TITLES,
    counts_line,
    enforce_delta,
    rows,
    seconds,
    verdict,
)
from netpol_conformance.report.markdown_text import md_code, md_table, md_text
from netpol_conformance.report.tables import terminal_table
from netpol_conformance.results.compare import Change, Comparison, Side, StepKey
from netpol_conformance.results.document import observation_document

COMPARE_FORMAT = "netpol-conformance/compare"
COMPARE_VERSION = "1.0"
STYLES = {
    Change.LEAK: "bold red",
    Change.REGRESSION: "red",
    Change.DEVIATION: "yellow",
    Change.FIX: "green",
}
MORE = "... and {n} more ({where})"
MORE_WHERE = "--format json lists them all"

# --- terminal -----------------------------------------------------------------------------------


def print_comparison(
    c: Comparison,
    console: Console,
    before: str,
    after: str,
    limit: int = DEFAULT_LIMIT,
    more_where: str = MORE_WHERE,
) -> None:
    console.print(Text(f"netpol-conformance compare: {before} -> {after}", style="bold"))
    if c.metadata:
        table = terminal_table("Run metadata", ("field", "before", "after"))
        for m in c.metadata:
            table.add_row(m.field, m.before or "-", m.after or "-")
        console.print(table)
    for kind in Change:
        shown, more = rows(c, kind, limit)
        if not shown:
            continue
        style = STYLES.get(kind, "bold")
        table = terminal_table(f"{TITLES[kind]} ({len(c.of(kind))})", HEADER, style)
        for row in shown:
            table.add_row(*row.cells, style=STYLES.get(kind))
        console.print(table)
        if more:
            console.print(MORE.format(n=more, where=more_where))
    if c.enforcement:
        title = f"Time to enforce, changed by more than {c.threshold:g}s"
        table = terminal_table(title, ("scenario / step", "before", "after", "change"))
        for e in c.enforcement:
            table.add_row(str(e.step), seconds(e.before), seconds(e.after), enforce_delta(e))
        console.print(table)
    console.print(Text(verdict(c), style="bold green" if c.passed else "bold red"))
    others = counts_line(c, gating=False)
    if others:
        console.print(f"also: {others}")


# --- markdown -----------------------------------------------------------------------------------


def comparison_markdown(
    c: Comparison, before: str, after: str, limit: int = DEFAULT_LIMIT, level: int = 2
) -> str:
    """Markdown for a pull-request comment or $GITHUB_STEP_SUMMARY; ``level``: heading depth."""
    h = "#" * level
    others = counts_line(c, gating=False)
    lines = [
        f"{h} netpol-conformance compare: {md_text(before)} → {md_text(after)}",
        "",
        f"**{md_text(verdict(c))}**" + (f" · also: {md_text(others)}" if others else ""),
        "",
    ]
    if c.metadata:
        lines += [f"{h}# Run metadata", ""]
        lines += md_table(
            ["field", "before", "after"],
            [
                [md_text(m.field), md_text(m.before or "-"), md_text(m.after or "-")]
                for m in c.metadata
            ],
        )
        lines.append("")
    for kind in Change:
        shown, more = rows(c, kind, limit)
        if not shown:
            continue
        lines += [f"{h}# {md_text(TITLES[kind])} ({len(c.of(kind))})", ""]
        lines += md_table(
            list(HEADER),
            [
                [md_text(r.step), md_code(r.probe), *(md_text(x) for x in r.cells[2:])]
                for r in shown
            ],
        )
        if more:
            lines += ["", md_text(MORE.format(n=more, where=MORE_WHERE))]
        lines.append("")
    if c.enforcement:
        lines += [f"{h}# Time to enforce, changed by more than {c.threshold:g}s", ""]
        lines += md_table(
            ["scenario / step", "before", "after", "change"],
            [
                [md_text(str(e.step)), seconds(e.before), seconds(e.after), enforce_delta(e)]
                for e in c.enforcement
            ],
        )
        lines.append("")
    return "\n".join(lines)


# --- JSON ---------------------------------------------------------------------------------------


def _step(key: StepKey) -> dict[str, Any]:
    return {"scenario": key.scenario, "step": key.step, "occurrence": key.occurrence}


def _side(side: Side | None) -> dict[str, Any] | None:
    if side is None:
        return None
    return {
        "expected": side.expected.value,
        "observed": observation_document(side.observed),
        "met": side.met,
        "deviation": side.deviation,
    }


def comparison_document(c: Comparison, before: str, after: str) -> dict[str, Any]:
    """Every difference, none left out: for programs (``jq``) and archives."""
    return {
        "format": COMPARE_FORMAT,
        "version": COMPARE_VERSION,
        "before": before,
        "after": after,
        "passed": c.passed,
        "exit_code": c.exit_code,
        "compared": c.compared,
        "enforce_threshold": c.threshold,
        "counts": {kind.value: n for kind, n in c.counts().items()},
        "probes": [
            {
                "change": p.kind.value,
                **_step(p.step),
                "probe": p.label,
                "before": _side(p.before),
                "after": _side(p.after),
                "note": p.note,
            }
            for p in c.probes
        ],
        "enforcement": [
            {**_step(e.step), "before": e.before, "after": e.after, "delta": e.delta}
            for e in c.enforcement
        ],
        "metadata": [{"field": m.field, "before": m.before, "after": m.after} for m in c.metadata],
    }
