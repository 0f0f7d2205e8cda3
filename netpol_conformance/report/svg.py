"""The report's charts as inline SVG, with no script and no external asset: the time to enforce
per step as bars (with the before run's beside them), and an upgrade's timeline (one row per
probe or held connection, grouped, each a set of bars on one time axis, each bar with a class
that the page's style sheet colours and a title shown on hover; vertical markers for the
upgrade's start and end and the CNI Ready again cross every row; events sit on a track of their
own at the top). The geometry is computed here; the templates draw it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from netpol_conformance.report.rendering import render

ENFORCE_ROW = 22
ENFORCE_BAR = 12
ENFORCE_FONT = 12
ENFORCE_CHAR = 6.8  # average width of a character at ENFORCE_FONT px, to size the label column
ENFORCE_BARS_WIDTH = 360
ENFORCE_VALUE_WIDTH = 110
ENFORCE_TOP = 8
ENFORCE_AXIS = 22


@dataclass(frozen=True)
class EnforceBar:
    label: str
    seconds: float | None  # None: the step did not converge
    before: float | None = None  # the same step in the before run, when there is one
    has_before: bool = False


def _scale_max(values: Sequence[float]) -> float:
    """A round axis end at or above the largest value: 1, 2, 5, 10, 20, 50, ... seconds."""
    top = max(values, default=0.0)
    if top <= 1:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(top))
    for step in (1, 2, 5, 10):
        if step * magnitude >= top:
            return float(step * magnitude)
    return float(10 * magnitude)


def _seconds(value: float | None) -> str:
    return "not converged" if value is None else f"{value:.1f} s"


@dataclass(frozen=True)
class _Drawn:
    """One bar of the chart, placed: every number already formatted as it is drawn."""

    label: str
    hover: str
    text_y: str
    before_y: int
    before_width: str | None  # None: no before bar
    bar_y: str
    width: str | None  # None: not converged
    value_x: str
    value: str


def enforce_chart(bars: Sequence[EnforceBar], title: str = "Time to enforce per step") -> Markup:
    values = [v for b in bars for v in (b.seconds, b.before) if v is not None]
    top = _scale_max(values)
    label_width = int(
        min(340, max(80, ENFORCE_CHAR * max((len(b.label) for b in bars), default=10)))
    )
    x0 = label_width + 8
    drawn = []
    for i, bar in enumerate(bars):
        y = ENFORCE_TOP + i * ENFORCE_ROW
        mid = y + ENFORCE_ROW / 2
        hover = f"{bar.label}: {_seconds(bar.seconds)}"
        if bar.has_before:
            hover += f" (before: {_seconds(bar.before)})"
        width = None if bar.seconds is None else ENFORCE_BARS_WIDTH * bar.seconds / top
        before = bar.before if bar.has_before else None
        drawn.append(
            _Drawn(
                label=bar.label,
                hover=hover,
                text_y=f"{mid + 4:.1f}",
                before_y=y + 2,
                before_width=None if before is None else f"{ENFORCE_BARS_WIDTH * before / top:.1f}",
                bar_y=f"{y + (ENFORCE_ROW - ENFORCE_BAR) / 2 + (3 if bar.has_before else 0):.1f}",
                width=None if width is None else f"{width:.1f}",
                value_x=f"{x0 + (width or 0) + 4:.1f}",
                value=_seconds(bar.seconds),
            )
        )
    axis_y = ENFORCE_TOP + ENFORCE_ROW * len(bars) + 2
    return render(
        "enforce_chart.svg.j2",
        title=title,
        width=x0 + ENFORCE_BARS_WIDTH + ENFORCE_VALUE_WIDTH,
        height=ENFORCE_TOP + ENFORCE_ROW * len(bars) + ENFORCE_AXIS,
        font=ENFORCE_FONT,
        label_width=label_width,
        x0=x0,
        bar=ENFORCE_BAR,
        half_bar=ENFORCE_BAR // 2,
        bars=drawn,
        axis_y=axis_y,
        axis_end=x0 + ENFORCE_BARS_WIDTH,
        ticks=[(f"{x0 + ENFORCE_BARS_WIDTH * f:.1f}", f"{top * f:g} s") for f in (0, 0.5, 1)],
        tick_y=axis_y + 15,
    )


TIMELINE_ROW = 14
TIMELINE_BAR = 10
TIMELINE_FONT = 11
TIMELINE_CHAR = 6.3  # average width of a character at TIMELINE_FONT px
TIMELINE_PLOT = 760  # width of the time axis
TIMELINE_TOP = 50  # room for the markers' labels (three levels) and the event track
TIMELINE_AXIS = 26


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
) -> Markup:
    stop = max(stop, start + 1e-3)
    label_width = int(
        min(360, max(120, TIMELINE_CHAR * max((len(r.label) for r in rows), default=10)))
    )
    x0 = label_width + 10
    lines: list[tuple[str, Row | None]] = []
    group = None
    for each in rows:
        if each.group != group:
            lines.append((each.group, None))
            group = each.group
        lines.append((each.label, each))
    bottom = TIMELINE_TOP + TIMELINE_ROW * len(lines)

    def x(t: float) -> float:
        return x0 + TIMELINE_PLOT * (min(max(t, start), stop) - start) / (stop - start)

    drawn = []  # (label, is a group heading, text y, bars as (class, x, y, width, title))
    for i, (text, row) in enumerate(lines):
        y = TIMELINE_TOP + i * TIMELINE_ROW
        bars = [
            (
                bar.css,
                f"{x(bar.start):.1f}",
                f"{y + (TIMELINE_ROW - TIMELINE_BAR) / 2:.1f}",
                f"{max(x(bar.end) - x(bar.start), 1.5):.1f}",
                bar.title,
            )
            for bar in (row.bars if row else ())
        ]
        drawn.append((text, row is None, y + TIMELINE_ROW - 3, bars))
    return render(
        "timeline.svg.j2",
        title=title,
        width=x0 + TIMELINE_PLOT + 20,
        height=bottom + TIMELINE_AXIS,
        font=TIMELINE_FONT,
        label_width=label_width,
        x0=x0,
        top=TIMELINE_TOP,
        bar=TIMELINE_BAR,
        events=[(e.title, f"{x(e.at):.1f}") for e in events],
        lines=drawn,
        markers=[
            (m.label, f"{x(m.at):.1f}", f"{x(m.at) + 3:.1f}", 11 + 12 * (i % 3))
            for i, m in enumerate(markers)
        ],
        bottom=bottom,
        axis_end=x0 + TIMELINE_PLOT,
        ticks=[(f"{x(t):.1f}", f"{t:+g} s") for t in _ticks(start, stop)],
    )
