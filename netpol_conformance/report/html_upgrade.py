"""The upgrade's timeline as a section of the report page: verdict, facts, chart and tables."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from netpol_conformance.report.svg_timeline import Bar, Marker, Row, Tick, timeline_chart
from netpol_conformance.report.tables import html_table
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
from netpol_conformance.upgrade.render import headline, seconds
from netpol_conformance.upgrade.timeline import sample_state

LEGEND = (
    '<p class="chart-legend"><span class="sw ok"></span>got through, as it must'
    '<span class="sw held"></span>denied, as it must'
    '<span class="sw bad"></span>disrupted or stalled'
    '<span class="sw leak"></span>got through although denied'
    '<span class="sw unknown"></span>no verdict (exec error). '
    "Hover over a bar for its times and what was observed.</p>"
)


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


def chart(r: UpgradeRecord) -> str:
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


def _folded(title: str, table: str, rows: int) -> str:
    return f"<details><summary>{escape(title)}</summary>{table}</details>" if rows > 15 else table


def upgrade_section(r: UpgradeRecord) -> str:
    state = "passed" if r.passed else "failed"
    badge = "\u2713 UPGRADE PASSED" if r.passed else "\u2717 UPGRADE FAILED"
    out = [
        '<section class="upgrade" id="upgrade">',
        "<h2>Upgrade timeline</h2>",
        f'<p class="verdict"><span class="badge {state}">{badge}</span>'
        f"{escape(r.upgrade_command)}</p>",
    ]
    if r.reasons:
        out.append("<ul class='reasons'>")
        out += [f"<li>{escape(reason)}</li>" for reason in r.reasons]
        out.append("</ul>")
    out.append("<ul class='facts'>")
    out += [f"<li>{escape(line)}</li>" for line in headline(r)]  # the CNI versions among them
    out += [f"<li>note: {escape(n)}</li>" for n in r.notes]
    out.append("</ul>")
    out.append(LEGEND)
    out.append(chart(r))
    if r.events:
        body = [[f"{seconds(e.at)} s", e.agent, e.event, e.origin] for e in r.events]
        out.append(f"<h3>CNI events ({len(body)})</h3>")
        out.append(
            _folded(
                f"{len(body)} events",
                html_table(["t", "agent", "event", "seen in"], body),
                len(body),
            )
        )
    leaks = [p for p in r.probes if p.role == DOWN and p.leaks]
    if leaks:
        body = [
            [
                p.label,
                "yes" if p.gated else "no",
                str(len(p.leaks)),
                f"{seconds(p.leaks[0])} s",
                f"{seconds(p.leaks[-1])} s",
                _windows(p.windows),
            ]
            for p in leaks
        ]
        out.append(f"<h3>Leaks: {len(leaks)} probes got through although denied</h3>")
        table = html_table(
            ["probe", "gated", "samples", "first", "last", "windows"], body, "change-leak"
        )
        out.append(_folded(f"{len(leaks)} probes", table, len(body)))
    disrupted = [p for p in r.probes if p.role == UP and p.windows]
    if disrupted:
        body = [
            [p.label, "yes" if p.gated else "no", p.path, f"{p.longest:.2f} s", _windows(p.windows)]
            for p in disrupted
        ]
        out.append(f"<h3>Disruptions: {len(disrupted)} probes</h3>")
        table = html_table(
            ["probe", "gated", "path", "longest", "windows"], body, "change-regression"
        )
        out.append(_folded(f"{len(disrupted)} probes", table, len(body)))
    if r.connections:
        body = [
            [c.label, c.path, str(c.round_trips), f"{c.longest:.2f} s", c.reason or "survived"]
            for c in r.connections
        ]
        out.append(f"<h3>Held connections ({len(body)})</h3>")
        out.append(html_table(["connection", "path", "answers", "longest stall", "outcome"], body))
    out.append("</section>")
    return "\n".join(out)
