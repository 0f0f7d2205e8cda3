"""A comparison of two runs for people: its rows (probe by probe, with the before and after sides),
and the same rows as a terminal table, markdown, and JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from rich.console import Console
from rich.text import Text

from netpol_conformance.report.tables import md_code, md_table, md_text, terminal_table
from netpol_conformance.results.compare import (
    GATING,
    Change,
    Comparison,
    EnforceChange,
    ProbeChange,
    Side,
    StepKey,
)
from netpol_conformance.results.serialize import observation_json

DEFAULT_LIMIT = 200  # rows per kind of change in the terminal and markdown; JSON has them all

TITLES = {
    Change.LEAK: "Leaks: denied by the policies, got through after",
    Change.REGRESSION: "Regressions: as expected before, not after",
    Change.DEVIATION: "New expected deviations (listed for this CNI, not failures)",
    Change.FIX: "Fixes: not as expected before, as expected after",
    Change.CATEGORY: "Changed categories, same verdict",
    Change.MISSING: "Missing: probed before, not after (--allow-missing when that is meant)",
    Change.ONLY_BEFORE: "Only in the before run",
    Change.ONLY_AFTER: "Only in the after run",
}
HEADER = ("scenario / step", "probe", "expected", "before", "after", "note")


@dataclass(frozen=True)
class Row:
    step: str
    probe: str
    expected: str
    before: str
    after: str
    note: str

    @property
    def cells(self) -> tuple[str, ...]:
        return (self.step, self.probe, self.expected, self.before, self.after, self.note)


def verdict(c: Comparison) -> str:
    if c.passed:
        return f"OK: nothing regressed or leaked ({c.compared} probes compared)"
    parts = [
        f"{len(c.leaks)} leak{'s' if len(c.leaks) != 1 else ''}",
        f"{len(c.regressions)} regression{'s' if len(c.regressions) != 1 else ''}",
    ]
    if c.unfinished:
        parts.append(c.unfinished)
    if c.inconsistent:
        parts.append(
            f"{len(c.inconsistent)} stored verdicts contradict their own observations "
            f"({c.inconsistent[0]})"
        )
    if c.missing:
        parts.append(
            f"{len(c.missing)} probe{'s' if len(c.missing) != 1 else ''} of the before run "
            "not probed after"
        )
    return f"FAIL: {', '.join(parts)} ({c.compared} probes compared)"


NAMES = {
    Change.LEAK: ("leak", "leaks"),
    Change.REGRESSION: ("regression", "regressions"),
    Change.DEVIATION: ("new deviation", "new deviations"),
    Change.FIX: ("fix", "fixes"),
    Change.CATEGORY: ("changed category", "changed categories"),
    Change.MISSING: ("missing after", "missing after"),
    Change.ONLY_BEFORE: ("only in before", "only in before"),
    Change.ONLY_AFTER: ("only in after", "only in after"),
}


def counts_line(c: Comparison, gating: bool | None = None) -> str:
    """``n kind`` for every kind that occurs; only gating or only other kinds if asked."""
    return ", ".join(
        f"{n} {NAMES[k][n != 1]}"
        for k, n in c.counts().items()
        if n and (gating is None or (k in GATING) == gating)
    )


def side_text(side: Side | None) -> str:
    if side is None:
        return "-"
    seen = str(side.observed) if side.observed else "not observed"
    if side.met:
        return f"\u2713 {seen}"  # ✓
    return f"~ {seen} (deviation)" if side.deviation else f"\u2717 {seen}"  # ✗


def expected_text(change: ProbeChange) -> str:
    values = [s.expected.value for s in (change.before, change.after) if s is not None]
    return values[0] if len(set(values)) == 1 else " -> ".join(values)


def seconds(value: float | None) -> str:
    return "not converged" if value is None else f"{value:.1f}s"


def enforce_delta(e: EnforceChange) -> str:
    return "-" if e.delta is None else f"{e.delta:+.1f}s"


def _row(change: ProbeChange) -> Row:
    return Row(
        str(change.step),
        change.label,
        expected_text(change),
        side_text(change.before),
        side_text(change.after),
        change.note,
    )


def _summed(sides: Sequence[Side | None]) -> str:
    texts = {side_text(s) for s in sides}
    if len(texts) == 1:
        return texts.pop()
    met = sum(1 for s in sides if s and s.met)
    if met == len(sides):
        return f"\u2713 all {met} as expected"
    return f"{met} of {len(sides)} as expected"


def _group_row(group: list[ProbeChange]) -> Row:
    expected = {expected_text(c) for c in group}
    return Row(
        str(group[0].step),
        f"{len(group)} probes: {group[0].label} ... {group[-1].label}",
        expected.pop() if len(expected) == 1 else "various",
        _summed([c.before for c in group]),
        _summed([c.after for c in group]),
        group[0].note,
    )


def rows(c: Comparison, kind: Change, limit: int = DEFAULT_LIMIT) -> tuple[list[Row], int]:
    """The rows of one kind of change, and how many more there are past ``limit``.

    Probes missing on one side for the same reason in the same step (a scenario whose set-up
    failed) make one row, not one per probe.
    """
    out: list[Row] = []
    for (_, missing, _), grouped in groupby(
        c.of(kind),
        key=lambda x: (x.step, x.before is None or x.after is None, x.note),
    ):
        group = list(grouped)
        if missing and len(group) > 1:
            out.append(_group_row(group))
        else:
            out += [_row(x) for x in group]
    return out[:limit], max(0, len(out) - limit)


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
        "observed": observation_json(side.observed),
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
