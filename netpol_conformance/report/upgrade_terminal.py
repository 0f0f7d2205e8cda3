"""The upgrade's timeline for a terminal: phases, the CNI's events, disruptions, leaks, stalls.

A strip chart shows every probe and held connection that had trouble, one character per
slice of time (``.`` fine, ``X`` disrupted or stalled, ``!`` leaked, blank: no sample), under
a ruler that marks the upgrade command (``U``...``u``) and the CNI Ready again (``R``).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from netpol_conformance.report.tables import terminal_table
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
    signed,
)
from netpol_conformance.upgrade.timeline import sample_state

STRIP = 60  # characters of the strip chart
ROWS = 12  # rows of a table before "... and N more"


def seconds(t: float) -> str:
    """``+1.234``; never ``-0.000``."""
    return f"{round(t, 3) or 0.0:+.3f}"


def _more(console: Console, total: int) -> None:
    if total > ROWS:
        console.print(f"... and {total - ROWS} more (all of them are in the results file)")


def _span(r: UpgradeRecord) -> tuple[float, float]:
    start = r.phases.get(PROBING_STARTED, 0.0)
    return start, max(r.phases.get(PROBING_STOPPED, start + 1.0), start + 1e-3)


def _slot(t: float, start: float, stop: float) -> int:
    return min(STRIP - 1, max(0, int((t - start) / (stop - start) * STRIP)))


def ruler(r: UpgradeRecord) -> str:
    start, stop = _span(r)
    line = [" "] * STRIP
    marks = [(0.0, "U"), (r.phases.get(UPGRADE_FINISHED), "u"), (r.phases.get(CNI_READY), "R")]
    for t, mark in marks:
        if t is not None:
            line[_slot(t, start, stop)] = mark
    return "".join(line)


def _paint(
    line: list[str], windows: Sequence[Window], mark: str, start: float, stop: float
) -> None:
    for w in windows:
        for i in range(_slot(w.start, start, stop), _slot(w.end, start, stop) + 1):
            line[i] = mark


_MARKS = {"unknown": "?", "leak": "!", "held": ".", "ok": ".", "bad": "X"}  # sample_state's


def probe_strip(p: LiveProbeRecord, r: UpgradeRecord) -> str:
    """Each sample's state held until the next sample."""
    start, stop = _span(r)
    line = [" "] * STRIP
    for i, s in enumerate(p.segments):
        until = p.segments[i + 1].start if i + 1 < len(p.segments) else s.end
        last = _slot(until, start, stop) - (1 if i + 1 < len(p.segments) else 0)
        for k in range(_slot(s.start, start, stop), max(last, _slot(s.start, start, stop)) + 1):
            line[k] = _MARKS[sample_state(p.role, s.category)]
    return "".join(line)


def held_strip(c: HeldConnectionRecord, r: UpgradeRecord) -> str:
    start, stop = _span(r)
    line = [" "] * STRIP
    if c.last is not None:
        for i in range(_slot(c.opened, start, stop), _slot(c.last, start, stop) + 1):
            line[i] = "."
    _paint(line, c.stalls, "X", start, stop)
    return "".join(line)


def _troubled(r: UpgradeRecord) -> tuple[list[LiveProbeRecord], list[HeldConnectionRecord]]:
    probes = [p for p in r.probes if p.windows]
    held = [c for c in r.connections if c.stalls or c.broken]
    return probes, held


def _as_expected_at_end(p: LiveProbeRecord) -> bool:
    if not p.segments:
        return False
    last = p.segments[-1].category
    return sample_state(p.role, last) in ("held", "ok")


def headline(r: UpgradeRecord) -> list[str]:
    up = [p for p in r.probes if p.gated and p.role == UP]
    down = [p for p in r.probes if p.gated and p.role == DOWN]
    leaking = [p for p in down if p.leaks]
    first = min((t for p in leaking for t in p.leaks), default=None)
    longest = max((p.longest for p in up), default=0.0)
    stall = max((c.longest for c in r.connections), default=0.0)
    broken = sum(c.broken for c in r.connections)
    ready = r.phases.get(CNI_READY)
    lines = [
        f"t = 0 at {r.epoch} (the upgrade command's start); probe rounds every {r.interval:g} s "
        f"from {signed(r.phases.get(PROBING_STARTED, 0.0))} s to "
        f"{signed(r.phases.get(PROBING_STOPPED, 0.0))} s",
        f"upgrade command: {r.command_text} at {signed(r.phases.get(UPGRADE_FINISHED, 0.0))} s; "
        + (f"CNI Ready at {signed(ready)} s" if ready is not None else "CNI not Ready")
        + f" ({r.ready_check})"
        + (
            f"; CNI version {r.cni_version_before or '?'} -> {r.cni_version_after or '?'}"
            if r.cni_version_before or r.cni_version_after
            else ""
        ),
        f"must get through: {len(up)} probes, longest disruption {longest:.2f} s "
        f"(limit {r.limits.new:g} s)",
        f"must not get through: {len(down)} probes, {len(leaking)} leaked"
        + (f", the first at {signed(first)} s" if first is not None else ""),
        f"held connections: {len(r.connections)}, {broken} broken, longest stall {stall:.2f} s "
        f"(limit {r.limits.established:g} s)",
    ]
    ungated = [p for p in r.probes if not p.gated]
    if ungated:
        fixed = sum(_as_expected_at_end(p) for p in ungated)
        lines.append(
            f"not as expected before the upgrade (followed, not gated): {len(ungated)} probes, "
            f"{fixed} of them as expected at the end"
        )
    return lines


def strip_lines(r: UpgradeRecord, limit: int = 30) -> list[str]:
    """The strip chart as plain text, for terminals and the README."""
    probes, held = _troubled(r)
    alike: dict[str, list[str]] = {}  # strip -> labels: identical rows are shown once
    for label, strip in [(p.label, probe_strip(p, r)) for p in probes] + [
        (f"held {c.label}", held_strip(c, r)) for c in held
    ]:
        alike.setdefault(strip, []).append(label)
    rows = [
        (labels[0] + (f" (+{len(labels) - 1} alike)" if len(labels) > 1 else ""), strip)
        for strip, labels in alike.items()
    ]
    if not rows:
        return []
    width = max(len(label) for label, _ in rows[:limit])
    start, stop = _span(r)
    lines = [f"{'':{width}} {ruler(r)}"]
    lines += [f"{label:{width}} {strip}" for label, strip in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"... and {len(rows) - limit} more")
    lines.append(f"{'':{width}} {start:<+{STRIP // 2}.1f}{stop:>+{STRIP - STRIP // 2}.1f} s")
    lines.append(
        f"{'':{width}} . as expected  X disrupted/stalled  ! leaked  ? no verdict  "
        "U/u upgrade command start/end  R CNI Ready"
    )
    return lines


def _windows_text(windows: Sequence[Window]) -> str:
    return "; ".join(
        f"{signed(w.start)}..{signed(w.end)} s ({w.seconds:.2f} s{'' if w.ended else ', not over'})"
        for w in windows[:4]
    ) + (f"; and {len(windows) - 4} more" if len(windows) > 4 else "")


def print_timeline(r: UpgradeRecord, console: Console) -> None:
    console.print(Text("Upgrade timeline", style="bold"))
    for line in headline(r):
        console.print(line, highlight=False, markup=False)
    for note in r.notes:
        console.print(Text(f"note: {note}", style="yellow"))
    if r.events:
        table = terminal_table("CNI events", ("t", "agent", "event", "seen in"))
        for e in r.events:
            table.add_row(f"{seconds(e.at)} s", e.agent, e.event, e.origin)
        console.print(table)
    probes, held = _troubled(r)
    leaks = [p for p in probes if p.role == DOWN]
    if leaks:
        nodes = r.several_enforcers
        table = terminal_table(
            f"Leaks ({len(leaks)} probes)",
            ("probe", *(("enforced on",) if nodes else ()), "samples", "first", "last", "windows"),
            "bold red",
        )
        for p in leaks[:ROWS]:
            table.add_row(
                p.shown_label,
                *((p.shown_enforcers,) if nodes else ()),
                str(len(p.leaks)),
                f"{signed(p.leaks[0])} s",
                f"{signed(p.leaks[-1])} s",
                _windows_text(p.windows),
            )
        console.print(table)
        _more(console, len(leaks))
    disrupted = [p for p in probes if p.role == UP]
    if disrupted:
        table = terminal_table(
            f"Disruptions ({len(disrupted)} probes)",
            ("probe", "path", "longest", "windows"),
            "bold red",
        )
        for p in disrupted[:ROWS]:
            table.add_row(
                p.shown_label,
                p.path,
                f"{p.longest:.2f} s",
                _windows_text(p.windows),
            )
        console.print(table)
        _more(console, len(disrupted))
    if held:
        table = terminal_table(
            f"Held connections with trouble ({len(held)})",
            ("connection", "round trips", "longest stall", "broken"),
            "bold red",
        )
        for c in held[:ROWS]:
            table.add_row(c.label, str(c.round_trips), f"{c.longest:.2f} s", c.reason or "no")
        console.print(table)
        _more(console, len(held))
    for line in strip_lines(r):
        console.print(line, highlight=False, markup=False)
