"""One step of a run as the report page shows it: the values of its truth-table cells, its probe
rows and its facts, for ``templates/step.html.j2``. Plain text only: the template escapes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from netpol_conformance.probe.outcome import DENIED
from netpol_conformance.report.summary import StepSummary
from netpol_conformance.report.truth_tables import (
    DEVIATION,
    MET,
    SUFFIX,
    cell_state,
    expected_mark,
    observed_mark,
)
from netpol_conformance.results.records import ProbeRecord


def policy_text(policy: Mapping[str, Any]) -> str:
    try:
        return yaml.safe_dump(dict(policy), sort_keys=False, allow_unicode=True).rstrip()
    except yaml.YAMLError:
        return json.dumps(policy, indent=1, default=str)


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


@dataclass(frozen=True)
class Cell:
    """One cell of a truth table: its CSS classes, state, hover text and mark."""

    classes: str
    probe: str
    state: str
    title: str
    text: str


def truth_cell(record: ProbeRecord | None, observed: bool) -> Cell | None:
    """The cell of ``record`` in the expected or the observed table; None where no probe is."""
    if record is None:
        return None
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
    return Cell(" ".join(classes), record.probe.label, state, title, text)


@dataclass(frozen=True)
class ProbeRow:
    label: str
    path: str
    expected: str
    observed: str
    met: bool
    suffix: str  # the mark of a probe not as expected: * or ~
    history: str
    polls: int
    detail: tuple[str, ...]  # output, control probe, deviation and history, for a failure
    command: str


def probe_rows(records: Iterable[ProbeRecord], with_detail: bool) -> list[ProbeRow]:
    rows = []
    for r in records:
        detail: list[str] = []
        if with_detail:
            if r.observed and r.observed.detail:
                detail.append(r.observed.detail)
            if r.evidence:
                detail.append(f"control probe: {r.evidence}")
            if r.deviation:
                detail.append(f"expected deviation: {r.deviation}")
            detail.append("history: " + ", ".join(map(str, r.history)))
        state = cell_state(r)
        rows.append(
            ProbeRow(
                label=r.probe.label,
                path=r.path or "-",
                expected=r.expected.value,
                observed=str(r.observed) if r.observed else "not observed",
                met=state == MET,
                suffix=SUFFIX[state],
                history=", ".join(map(str, r.history)),
                polls=r.attempts,
                detail=tuple(detail),
                command=r.command,
            )
        )
    return rows


def step_facts(s: StepSummary) -> list[str]:
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
    return facts
