"""An upgrade's timeline as an inline SVG: one row per probe or held connection, no script.

Rows are grouped (a heading row per group); each row is a set of bars on one time axis, each
bar with a class (its colour comes from the page's style sheet) and a ``<title>`` shown on
hover. Vertical markers (the upgrade's start and end, the CNI Ready again) cross every row;
events sit on a track of their own at the top.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

ROW = 14
BAR = 10
FONT = 11
CHAR = 6.3  # average width of a character at FONT px
PLOT = 760  # width of the time axis
TOP = 50  # room for the markers' labels (three levels) and the event track
AXIS = 26


@dataclass(frozen=True)
class Bar:
    start: float
    end: float
    css: str  # ok, held, bad, leak, unknown
    title: str


@dataclass(frozen=True)
class Row:
    label: str
    bars: tuple[Bar, ...]
    group: str = ""


@dataclass(frozen=True)
class Marker:
    at: float
    label: str


@dataclass(frozen=True)
class Tick:
    at: float
    title: str


def _ticks(start: float, stop: float) -> list[float]:
    """Round seconds for the axis: about eight of them."""
    span = stop - start
    raw = span / 8
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(start / step) * step
    return [first + i * step for i in range(int((stop - first) / step) + 1)]


def timeline_chart(
    rows: Sequence[Row],
    start: float,
    stop: float,
    markers: Sequence[Marker] = (),
    events: Sequence[Tick] = (),
    title: str = "Upgrade timeline",
) -> str:
    stop = max(stop, start + 1e-3)
    label_width = int(min(360, max(120, CHAR * max((len(r.label) for r in rows), default=10))))
    x0 = label_width + 10
    lines: list[tuple[str, Row | None]] = []
    group = None
    for each in rows:
        if each.group != group:
            lines.append((each.group, None))
            group = each.group
        lines.append((each.label, each))
    height = TOP + ROW * len(lines) + AXIS
    width = x0 + PLOT + 20

    def x(t: float) -> float:
        return x0 + PLOT * (min(max(t, start), stop) - start) / (stop - start)

    out = [
        f'<svg class="chart timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" font-size="{FONT}">',
        f"<title>{escape(title)}</title>",
        f'<text class="tick" x="{x0 - 6}" y="{TOP - 6}" text-anchor="end">events</text>',
    ]
    for e in events:
        cx = x(e.at)
        out.append(
            f'<g><title>{escape(e.title)}</title><path class="event" '
            f'd="M{cx:.1f} {TOP - 4} l-4 -7 h8 z"/></g>'
        )
    for i, (text, row) in enumerate(lines):
        y = TOP + i * ROW
        if row is None:
            out.append(f'<text class="group" x="4" y="{y + ROW - 3}">{escape(text)}</text>')
            continue
        out.append(
            f'<text x="{label_width}" y="{y + ROW - 3}" text-anchor="end">{escape(text)}</text>'
        )
        for bar in row.bars:
            left, right = x(bar.start), x(bar.end)
            out.append(
                f'<rect class="{bar.css}" x="{left:.1f}" y="{y + (ROW - BAR) / 2:.1f}" '
                f'width="{max(right - left, 1.5):.1f}" height="{BAR}">'
                f"<title>{escape(bar.title)}</title></rect>"
            )
    bottom = TOP + ROW * len(lines)
    for i, m in enumerate(markers):
        mx, level = x(m.at), 11 + 12 * (i % 3)
        out.append(
            f'<g><title>{escape(m.label)}</title><line class="marker" x1="{mx:.1f}" '
            f'y1="{level + 2}" x2="{mx:.1f}" y2="{bottom}"/>'
            f'<text class="marker" x="{mx + 3:.1f}" y="{level}">{escape(m.label)}</text></g>'
        )
    out.append(
        f'<line class="axis" x1="{x0}" y1="{bottom + 2}" x2="{x0 + PLOT}" y2="{bottom + 2}"/>'
    )
    for t in _ticks(start, stop):
        out.append(
            f'<text class="tick" x="{x(t):.1f}" y="{bottom + 16}" text-anchor="middle">'
            f"{t:+g} s</text>"
        )
    out.append("</svg>")
    return "\n".join(out)
