"""Time to enforce per step as a small inline SVG bar chart: no script, no external asset."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

ROW = 22
BAR = 12
FONT = 12
CHAR = 6.8  # average width of a character at FONT px, to size the label column
BARS_WIDTH = 360
VALUE_WIDTH = 110
TOP = 8
AXIS = 22


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


def enforce_chart(bars: Sequence[EnforceBar], title: str = "Time to enforce per step") -> str:
    values = [v for b in bars for v in (b.seconds, b.before) if v is not None]
    top = _scale_max(values)
    label_width = int(min(340, max(80, CHAR * max((len(b.label) for b in bars), default=10))))
    x0 = label_width + 8
    width = x0 + BARS_WIDTH + VALUE_WIDTH
    height = TOP + ROW * len(bars) + AXIS
    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" font-size="{FONT}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, bar in enumerate(bars):
        y = TOP + i * ROW
        mid = y + ROW / 2
        hover = f"{bar.label}: {_seconds(bar.seconds)}"
        if bar.has_before:
            hover += f" (before: {_seconds(bar.before)})"
        out.append(f"<g><title>{escape(hover)}</title>")
        out.append(
            f'<text x="{label_width}" y="{mid + 4:.1f}" text-anchor="end">'
            f"{escape(bar.label)}</text>"
        )
        if bar.has_before and bar.before is not None:
            w = BARS_WIDTH * bar.before / top
            out.append(
                f'<rect class="before" x="{x0}" y="{y + 2}" width="{w:.1f}" height="{BAR // 2}"/>'
            )
        if bar.seconds is None:
            out.append(
                f'<text class="none" x="{x0 + 4}" y="{mid + 4:.1f}">&#x2717; not converged</text>'
            )
        else:
            w = BARS_WIDTH * bar.seconds / top
            bar_y = y + (ROW - BAR) / 2 + (3 if bar.has_before else 0)
            out.append(
                f'<rect class="after" x="{x0}" y="{bar_y:.1f}" width="{w:.1f}" height="{BAR}"/>'
            )
            out.append(f'<text x="{x0 + w + 4:.1f}" y="{mid + 4:.1f}">{bar.seconds:.1f} s</text>')
        out.append("</g>")
    axis_y = TOP + ROW * len(bars) + 2
    out.append(f'<line class="axis" x1="{x0}" y1="{axis_y}" x2="{x0 + BARS_WIDTH}" y2="{axis_y}"/>')
    for fraction in (0, 0.5, 1):
        x = x0 + BARS_WIDTH * fraction
        out.append(
            f'<text class="tick" x="{x:.1f}" y="{axis_y + 15}" text-anchor="middle">'
            f"{top * fraction:g} s</text>"
        )
    out.append("</svg>")
    return "\n".join(out)
