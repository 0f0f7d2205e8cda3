"""The check of one probe: its verdict, with what a person needs when it fails."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from netpol_conformance.deviations import Deviations
from netpol_conformance.plan.judge import explain_mismatch
from netpol_conformance.probe.outcome import Observation
from netpol_conformance.pytest_plugin.cases import CatalogueCase, TutorialCase
from netpol_conformance.report.truth_tables import failure_summary
from netpol_conformance.results.records import ProbeRecord, StepResult
from netpol_conformance.settings import SuiteSettings


def junit_properties(result: StepResult, record: ProbeRecord) -> list[tuple[str, Any]]:
    p = record.probe
    return [
        ("scenario", result.scenario),
        ("step", result.step),
        ("probe", p.label),
        ("from", p.source),
        ("to", p.target),
        ("port", p.port),
        ("protocol", p.protocol),
        ("expected", record.expected.value),
        ("observed", str(record.observed)),
        ("time_to_enforce_s", result.time_to_enforce),
    ]


def failure_lines(
    result: StepResult, record: ProbeRecord, settings: SuiteSettings, converged: bool
) -> list[str]:
    observed = record.observed
    if record.flap:
        why = f"flapping: {record.flap}: enforcement comes and goes"
    elif record.late:
        why = f"too slow: {record.late}"
    elif observed:
        why = explain_mismatch(record.expected, observed, settings.profile, None)
    else:
        why = "no observation"
    path = f" ({record.path} path)" if record.path else ""
    state = "converged" if converged else "the matrix never converged"
    lines = [
        f"{result.scenario}: {record.probe.label}{path}",
        f"  expected {record.expected.value}, observed {observed}: {why}",
        f"  probe:    {record.command}",
        f"  history:  {history_text(record.history, result.poll_times)} ({state})",
    ]
    if record.evidence:
        lines.append(f"  evidence: {record.evidence}")
    if observed and observed.detail:
        lines.append(f"  output:   {observed.detail[:300]}")
    return lines


def history_text(history: Sequence[Observation], times: Sequence[float]) -> str:
    """``+0.1s connected, +0.9s..+4.2s refused x5, ...``: each run of one observation once,
    with the seconds since the change of its first and last poll."""
    runs: list[tuple[float | None, float | None, str, int]] = []
    for i, observation in enumerate(history):
        at = times[i] if i < len(times) else None
        text = str(observation)
        if runs and runs[-1][2] == text:
            first, _, _, count = runs[-1]
            runs[-1] = (first, at, text, count + 1)
        else:
            runs.append((at, at, text, 1))
    parts = []
    for first, last, text, count in runs:
        when = "" if first is None else f"+{first:.1f}s "
        if count > 1 and first is not None and last is not None:
            when = f"+{first:.1f}s..+{last:.1f}s "
        parts.append(f"{when}{text}" + (f" x{count}" if count > 1 else ""))
    return ", ".join(parts)


def check_case(
    case: TutorialCase,
    result: StepResult,
    settings: SuiteSettings,
    deviations: Deviations,
    record_property: Callable[[str, Any], None],
    tables_shown: set[str],
) -> None:
    """Assert one probe of a scenario; on failure show the probe, its history and the tables."""
    record = result.probe(case.probe)
    for name, value in junit_properties(result, record):
        record_property(name, value)
    label = record.probe.label
    disagreements = [d for d in result.disagreements if d.startswith(label + ":")]
    if disagreements:
        pytest.fail(
            "suite bug: the oracle and the hand-written table disagree:\n  "
            + "\n  ".join(disagreements),
            pytrace=False,
        )
    listed = deviations.listed(result.scenario, label)
    if record.met:
        if listed:
            pytest.fail(
                f"{label} is listed as an expected deviation of {settings.profile.name} "
                f"({listed[0].where}: {listed[0].reason}), but it now meets its expectation: "
                "remove the entry",
                pytrace=False,
            )
        return
    if record.deviation:  # marked by the run step when it observed the step
        pytest.xfail(
            f"expected deviation of {settings.profile.name}: observed {record.observed}, "
            f"expected {record.expected.value}: {record.deviation}"
        )
    lines = failure_lines(result, record, settings, result.converged)
    if listed:
        lines.append(
            f"  listed as an expected deviation ({listed[0].where}), but with another "
            f"category ({listed[0].observed.value})"
        )
    if result.scenario not in tables_shown:
        tables_shown.add(result.scenario)
        lines += ["", failure_summary(result)]
    else:
        lines.append(f"  (the truth tables of {result.scenario} are shown with its first failure)")
    pytest.fail("\n".join(lines), pytrace=False)


def check_state(
    case: CatalogueCase,
    result: StepResult,
    settings: SuiteSettings,
    deviations: Deviations,
    record_property: Callable[[str, Any], None],
) -> None:
    """Assert every probe of a catalogue state; on failure show each failing probe (its
    command, its history) and the state's truth tables."""
    record_property("scenario", result.scenario)
    record_property("step", result.step)
    record_property("upstream", case.scenario.upstream or "")
    record_property("probes", len(result.probes))
    record_property("time_to_enforce_s", result.time_to_enforce)
    if result.disagreements:
        pytest.fail(
            "suite bug: the oracle and the hand-written table disagree:\n  "
            + "\n  ".join(result.disagreements),
            pytrace=False,
        )
    # A state's entries describe together how the CNI deviates there; which of them shows can
    # depend on an order the CNI chooses anew at each sync. They are stale when the state meets
    # every expectation (the CNI no longer deviates there).
    listed = {e for r in result.probes for e in deviations.listed(result.scenario, r.probe.label)}
    if listed and all(r.met for r in result.probes):
        stale = sorted(f"{e.probe} ({e.where})" for e in listed)
        pytest.fail(
            f"listed as expected deviations of {settings.profile.name}, but every probe of the "
            f"state is now as expected: {', '.join(stale)}: remove the entries",
            pytrace=False,
        )
    failing = [r for r in result.probes if not r.met]
    if not failing:
        return
    unexplained = [r for r in failing if not r.deviation]
    if not unexplained:
        by_reason: dict[str, list[str]] = {}
        for r in failing:
            by_reason.setdefault(r.deviation, []).append(r.probe.label)
        pytest.xfail(
            f"expected deviations of {settings.profile.name}: "
            + "; ".join(f"{', '.join(labels)}: {why}" for why, labels in by_reason.items())
        )
    title = case.scenario.title or case.scenario.id
    spec = f" (upstream spec {case.scenario.upstream})" if case.scenario.upstream else ""
    lines = [
        f"{case.scenario.id}{spec}: {title}",
        f"state {case.state.id} ({'; '.join(str(c) for c in case.state.changes)}): "
        f"{len(unexplained)} of {len(result.probes)} probes not as expected",
        "",
    ]
    for record in unexplained:
        lines += failure_lines(result, record, settings, result.converged)
    lines += ["", failure_summary(result)]
    pytest.fail("\n".join(lines), pytrace=False)
