"""A comparison of two runs as an HTML section, for the report page."""

from __future__ import annotations

from html import escape

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
from netpol_conformance.report.tables import html_table
from netpol_conformance.results.compare import GATING, Change, Comparison


def comparison_html(c: Comparison, before: str, after: str, limit: int = DEFAULT_LIMIT) -> str:
    state = "passed" if c.passed else "failed"
    badge = "\u2713 NOTHING REGRESSED" if c.passed else "\u2717 REGRESSED"
    others = counts_line(c, gating=False)
    out = [
        '<section class="compare" id="compare">',
        f"<h2>Compared with {escape(before)}</h2>",
        f'<p class="verdict"><span class="badge {state}">{badge}</span>{escape(verdict(c))}'
        f"{' · also: ' + escape(others) if others else ''}</p>",
        f"<p class='facts'>before: {escape(before)} · after: {escape(after)}</p>",
    ]
    if c.metadata:
        out.append("<h3>Run metadata</h3>")
        body = [[m.field, m.before or "-", m.after or "-"] for m in c.metadata]
        out.append(html_table(["field", "before", "after"], body))
    for kind in Change:
        shown, more = rows(c, kind, limit)
        if not shown:
            continue
        title = f"{escape(TITLES[kind])} ({len(c.of(kind))})"
        table = html_table(
            ["change", *HEADER], [[kind.value, *r.cells] for r in shown], f"change-{kind.value}"
        )
        if more:
            table += f"<p>... and {more} more (compare --format json lists them all)</p>"
        if kind in GATING:
            out.append(f"<h3>{title}</h3>{table}")
        else:  # what does not gate is folded: up to `limit` rows would hide the steps below
            out.append(f"<details class='changes'><summary>{title}</summary>{table}</details>")
    if c.enforcement:
        out.append(f"<h3>Time to enforce, changed by more than {c.threshold:g} s</h3>")
        body = [
            [str(e.step), seconds(e.before), seconds(e.after), enforce_delta(e)]
            for e in c.enforcement
        ]
        out.append(html_table(["scenario / step", "before", "after", "change"], body))
    out.append("</section>")
    return "\n".join(out)
