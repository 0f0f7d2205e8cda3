"""The upgrade's timeline as the report page shows it: its verdict, facts, chart and tables, as
values for ``templates/upgrade.html.j2``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from netpol_conformance.report.svg import Bar, Marker, Row, Tick, timeline_chart
from netpol_conformance.report.upgrade_terminal import headline, seconds
from netpol_conformance.results.upgrade import (
    CNI_READY,
    DOWN,
    PROBING_STARTED,
    PROBING_STOPPED,
    UP,
    UPGRADE_FINISHED,
    HeldConnectionRecord,
    LiveProbeRecord,
    UpgradeRecord,
    Window,
)
from netpol_conformance.upgrade.timeline import sample_state


def _probe_row(p: LiveProbeRecord, group: str) -> Row:
    bars = []
    for i, s in enumerate(p.segments):
        end = p.segments[i + 1].start if i + 1 < len(p.segments) else s.end
        title = (
            f"{p.label}: {s.category.value} from {seconds(s.start)} s to {seconds(s.end)} s "
            f"({s.samples} sample{'s' if s.samples != 1 else ''})"
        )
        bars.append(Bar(s.start, end, sample_state(p.role, s.category), title))  # a CSS class
    return Row(p.shown_label, tuple(bars), group)


def _held_row(c: HeldConnectionRecord) -> Row:
    bars = []
    if c.last is not None:
        bars.append(
            Bar(
                c.opened,
                c.last,
                "ok",
                f"{c.label}: {c.round_trips} answers, the last at {seconds(c.last)} s",
            )
        )
    bars += [
        Bar(
            w.start,
            w.end,
            "bad",
            f"{c.label}: no answer from {seconds(w.start)} s to "
            f"{seconds(w.end)} s ({w.seconds:.2f} s{'' if w.ended else ', not over'})",
        )
        for w in c.stalls
    ]
    return Row(f"held {c.label}", tuple(bars), "held connections (must carry data throughout)")


def chart(r: UpgradeRecord) -> Markup:
    rows = [_probe_row(p, "must not get through") for p in r.probes if p.role == DOWN] + [
        _probe_row(p, "must get through") for p in r.probes if p.role == UP
    ]
    rows += [_held_row(c) for c in r.connections]
    markers = [Marker(0.0, "upgrade started")]
    if UPGRADE_FINISHED in r.phases:
        markers.append(Marker(r.phases[UPGRADE_FINISHED], f"command: {r.command_text}"))
    if CNI_READY in r.phases:
        markers.append(Marker(r.phases[CNI_READY], "CNI Ready"))
    events = [Tick(e.at, f"{seconds(e.at)} s: {e.agent} {e.event} ({e.origin})") for e in r.events]
    start = r.phases.get(PROBING_STARTED, 0.0)
    stop = r.phases.get(PROBING_STOPPED, start + 1.0)
    return timeline_chart(rows, start, stop, markers, events)


def _windows(windows: Sequence[Window]) -> str:
    return "; ".join(
        f"{seconds(w.start)} to {seconds(w.end)} s ({w.seconds:.2f} s"
        f"{'' if w.ended else ', not over'})"
        for w in windows
    )


@dataclass(frozen=True)
class UpgradeView:
    """The upgrade section's values for ``templates/upgrade.html.j2``: text, and the chart's SVG
    (built from numbers and escaped labels by ``svg_timeline``)."""

    state: str
    badge: str
    command: str
    reasons: tuple[str, ...]
    facts: tuple[str, ...]
    chart: Markup
    events: list[list[str]]
    leaks: list[list[str]]
    leak_columns: list[str]
    disrupted: list[list[str]]
    connections: list[list[str]]


def upgrade_view(r: UpgradeRecord) -> UpgradeView:
    leaks = [p for p in r.probes if p.role == DOWN and p.leaks]
    disrupted = [p for p in r.probes if p.role == UP and p.windows]
    nodes = r.several_enforcers
    return UpgradeView(
        state="passed" if r.passed else "failed",
        badge="\u2713 UPGRADE PASSED" if r.passed else "\u2717 UPGRADE FAILED",
        command=r.upgrade_command,
        reasons=tuple(r.reasons),
        # the headline holds the CNI versions; the notes follow it
        facts=(*headline(r), *(f"note: {n}" for n in r.notes)),
        chart=chart(r),
        events=[[f"{seconds(e.at)} s", e.agent, e.event, e.origin] for e in r.events],
        leaks=[
            [
                p.label,
                "yes" if p.gated else "no",
                *([p.shown_enforcers] if nodes else []),
                str(len(p.leaks)),
                f"{seconds(p.leaks[0])} s",
                f"{seconds(p.leaks[-1])} s",
                _windows(p.windows),
            ]
            for p in leaks
        ],
        leak_columns=[
            "probe",
            "gated",
            *(["enforced on"] if nodes else []),
            *("samples", "first", "last", "windows"),
        ],
        disrupted=[
            [p.label, "yes" if p.gated else "no", p.path, f"{p.longest:.2f} s", _windows(p.windows)]
            for p in disrupted
        ],
        connections=[
            [c.label, c.path, str(c.round_trips), f"{c.longest:.2f} s", c.reason or "survived"]
            for c in r.connections
        ],
    )
