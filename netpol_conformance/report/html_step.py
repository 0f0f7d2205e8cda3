"""One step of a run as HTML: its policies, its truth tables side by side, its probes.

Everything that came from the cluster or the manifests (names, policies, tool output,
commands) is untrusted text: it is escaped here and nowhere else is it written raw.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

import yaml

from netpol_conformance.probe.outcome import DENIED
from netpol_conformance.report.grid import (
    DEVIATION,
    MET,
    Grid,
    cell_state,
    expected_mark,
    grids,
    observed_mark,
)
from netpol_conformance.report.summary import DEVIATIONS, FAILED, StepSummary
from netpol_conformance.results.records import ProbeRecord, StepResult

STATE_SYMBOL = {FAILED: "\u2717", DEVIATIONS: "~", "passed": "\u2713"}  # ✗ ~ ✓


def policy_text(policy: Mapping[str, Any]) -> str:
    try:
        return yaml.safe_dump(dict(policy), sort_keys=False, allow_unicode=True).rstrip()
    except yaml.YAMLError:
        return json.dumps(policy, indent=1, default=str)


def _head(name: str) -> str:
    namespace, slash, pod = name.partition("/")
    if not slash:
        return escape(name)
    return f"{escape(namespace)}/<br>{escape(pod)}"


def probe_title(record: ProbeRecord) -> str:
    """The hover text of a cell: what was expected and seen, and the command to see it again."""
    lines = [record.probe.label, f"expected {record.expected.value}, observed {record.observed}"]
    if record.deviation:
        lines.append(f"expected deviation: {record.deviation}")
    if record.history:
        lines.append(f"{record.attempts} polls: " + ", ".join(str(o) for o in record.history))
    if record.evidence:
        lines.append(f"control probe: {record.evidence}")
    if record.command:
        lines.append(f"$ {record.command}")
    return "\n".join(lines)


def _cell(record: ProbeRecord | None, observed: bool) -> str:
    if record is None:
        return '<td class="cell none">&ndash;</td>'
    classes = ["cell"]
    shown = record.observed.outcome if observed and record.observed else record.expected
    if shown in DENIED:
        classes.append("denied")
    if observed:
        state = cell_state(record)
        if state != MET:
            classes.append(state if state == DEVIATION else "miss")
        text = observed_mark(record)
        title = probe_title(record)
    else:
        state = MET
        text = expected_mark(record)
        title = f"{record.probe.label}: expected {record.expected.value}"
    return (
        f'<td class="{" ".join(classes)}" data-probe="{escape(record.probe.label)}" '
        f'data-state="{state}" title="{escape(title)}">{escape(text)}</td>'
    )


def truth_table(grid: Grid, which: str, step_id: str) -> str:
    observed = which == "observed"
    head = "".join(f"<th>{_head(c)}</th>" for c in grid.columns)
    rows = []
    for row in grid.rows:
        cells = "".join(_cell(grid.cell(row, c), observed) for c in grid.columns)
        rows.append(f"<tr><th>{escape(row)}</th>{cells}</tr>")
    return (
        f'<figure class="truth"><figcaption>{which}</figcaption>'
        f'<table class="truth" data-table="{which}" data-step="{escape(step_id)}" '
        f'data-group="{escape(grid.title)}">'
        f'<thead><tr><th class="corner">from \\ to</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></figure>"
    )


def _observed_text(record: ProbeRecord) -> str:
    return str(record.observed) if record.observed else "not observed"


def probe_rows(records: list[ProbeRecord], with_detail: bool) -> str:
    head = ["probe", "path", "expected", "observed", "polls"]
    if with_detail:
        head += ["output / deviation"]
    head.append("command")
    out = [
        '<table class="list probe-table"><thead><tr>',
        "".join(f"<th>{h}</th>" for h in head),
        "</tr></thead><tbody>",
    ]
    for r in records:
        state = cell_state(r)
        cells = [
            f"<td><code>{escape(r.probe.label)}</code></td>",
            f"<td>{escape(r.path or '-')}</td>",
            f"<td>{escape(r.expected.value)}</td>",
            f'<td class="{"" if state == MET else "failed"}">{escape(_observed_text(r))}'
            f"{'' if state == MET else ' ' + ('~' if state == DEVIATION else '*')}</td>",
            f'<td class="num" title="{escape(", ".join(map(str, r.history)))}">{r.attempts}</td>',
        ]
        if with_detail:
            detail = [r.observed.detail] if r.observed and r.observed.detail else []
            if r.evidence:
                detail.append(f"control probe: {r.evidence}")
            if r.deviation:
                detail.append(f"expected deviation: {r.deviation}")
            detail.append("history: " + ", ".join(map(str, r.history)))
            cells.append(f"<td>{'<br>'.join(escape(d) for d in detail)}</td>")
        cells.append(f'<td class="cmd"><code>{escape(r.command)}</code></td>')
        out.append(f"<tr>{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _facts(s: StepSummary) -> str:
    step = s.step
    facts = [f"{s.total} probes: {s.met} as expected"]
    if s.failed:
        facts.append(f"{s.failed} not")
    if s.deviations:
        facts.append(f"{s.deviations} expected deviation{'s' if s.deviations != 1 else ''}")
    polls = f"{step.polls} poll{'s' if step.polls != 1 else ''}"
    facts.append(f"converged after {polls}" if step.converged else f"did not converge in {polls}")
    if step.time_to_enforce is not None:
        facts.append(f"enforced after {step.time_to_enforce:.1f} s")
    if step.phases:
        facts.append("phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in step.phases.items()))
    if step.flapping:
        facts.append(f"{len(step.flapping)} flapping (listed below)")
    return " · ".join(escape(f) for f in facts)


def _flapping(step: StepResult) -> str:
    """The flapping probes with where their histories broke, folded: there can be dozens."""
    if not step.flapping:
        return ""
    items = "".join(
        f"<li><code>{escape(r.probe.label)}</code>: {escape(r.flap)}</li>"
        for r in step.probes
        if r.flap
    )
    return (
        f"<details class='flapping'><summary>Flapping probes: histories the change cannot "
        f"explain ({len(step.flapping)})</summary><ul>{items}</ul></details>"
    )


def step_section(s: StepSummary, anchor: str) -> str:
    step = s.step
    step_id = f"{step.scenario}/{step.step}"
    name = escape(str(s.key))
    out = [
        f'<section class="step {s.state}" id="{anchor}" data-step="{escape(step_id)}">',
        f'<h2><span class="state">{STATE_SYMBOL[s.state]}</span> {name}</h2>',
        f'<p class="facts">{_facts(s)}</p>',
        _flapping(step),
    ]
    policies = "".join(f"<pre>{escape(policy_text(p))}</pre>" for p in step.policies)
    out.append(
        f"<details class='policies'><summary>Applied policies ({len(step.policies)})</summary>"
        f"{policies or '<p>none: nothing is isolated</p>'}</details>"
    )
    for grid in grids(step):
        out.append(f"<h3>{escape(grid.title)}</h3><div class='pairs'>")
        out.append(truth_table(grid, "expected", step_id))
        out.append(truth_table(grid, "observed", step_id))
        out.append("</div>")
    wrong = [p for p in step.probes if not p.met]
    if wrong:
        out.append(
            f"<details class='mismatches' open><summary>Probes not as expected ({len(wrong)})"
            f"</summary>{probe_rows(wrong, with_detail=True)}</details>"
        )
    out.append(
        f"<details class='probes'><summary>Every probe with its command ({len(step.probes)})"
        f"</summary>{probe_rows(list(step.probes), with_detail=False)}</details>"
    )
    out.append("</section>")
    return "\n".join(out)
