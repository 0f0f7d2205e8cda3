"""The run's summary, in the controller: every test's outcome and every process's results."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import pytest

from netpol_conformance.cluster.base import ClusterInfo
from netpol_conformance.cni import CniProfile
from netpol_conformance.errors import ConformanceError, UsageError
from netpol_conformance.plan.judge import deny_style_line, deny_styles
from netpol_conformance.probe.outcome import THROUGH
from netpol_conformance.pytest_plugin.run_record import (
    build_run_record,
    now,
    run_status,
    weakened_checks,
)
from netpol_conformance.pytest_plugin.state import ProcessState
from netpol_conformance.pytest_plugin.store import ProcessResults
from netpol_conformance.results.records import StepResult, TestRecord, counts_by_path
from netpol_conformance.results.write import write_results
from netpol_conformance.run.scenarios import RESTORE_STEP
from netpol_conformance.scenarios import catalogue as scenario_catalogue
from netpol_conformance.settings import SuiteSettings

PHASES = ("create", "wait", "baseline", "apply", "converge", "confirm", "restore", "destroy")


def test_record(report: pytest.TestReport) -> TestRecord | None:
    """The record of a test from its report: its call, a set-up that failed or skipped, or
    the report xdist makes for the test a worker died in (``when`` is then "???")."""
    if report.when == "teardown" or (report.when == "setup" and report.passed):
        return None
    outcome = report.outcome
    if hasattr(report, "wasxfail"):
        outcome = "xfailed" if report.skipped else "xpassed"
    elif report.when == "setup" and report.failed:
        outcome = "error"
    props = dict(report.user_properties)
    return TestRecord(
        nodeid=report.nodeid,
        outcome=outcome,
        duration=report.duration,
        scenario=str(props.get("scenario", "")),
        message=_message(report),
        properties=props,
    )


def _message(report: pytest.TestReport) -> str:
    """The failure, skip or xfail reason, as text (a skip's is its reason, not a tuple)."""
    if report.longrepr is None or report.passed:
        return ""
    if isinstance(report.longrepr, tuple):  # a skip: (path, line, "Skipped: reason")
        return str(report.longrepr[2]).removeprefix("Skipped: ")[:2000]
    return str(getattr(report, "longreprtext", "") or report.longrepr)[:2000]


def phase_totals(processes: Iterable[ProcessResults]) -> dict[str, float]:
    """Seconds spent per phase over the whole run (summed over processes)."""
    totals: dict[str, float] = defaultdict(float)
    for proc in processes:
        for name, secs in proc.phases.items():
            totals[name] += secs
        for step in proc.steps:
            if step.step == RESTORE_STEP:
                totals["restore"] += sum(step.phases.values())
            elif "create" in step.phases:  # the baseline: it carries the deployment's phases
                totals["baseline"] += step.phases["converge"]
            else:
                for name, secs in step.phases.items():
                    totals[name] += secs
    return dict(totals)


def scenario_lines(
    tests: Iterable[TestRecord], steps: Iterable[StepResult], profile: CniProfile
) -> list[str]:
    counts: dict[str, Counter[str]] = {}
    for t in tests:
        if t.scenario:
            counts.setdefault(t.scenario, Counter())[t.outcome] += 1
    own = {s.scenario: s for s in steps if s.step == s.scenario}
    lines = []
    for scenario, c in counts.items():
        step = own.get(scenario)
        tte = step.time_to_enforce if step else None
        when = f", enforced after {tte:.1f}s" if tte is not None else ""
        style = ""
        if step is not None and profile.enforces:
            seen = deny_style_line(
                profile, deny_styles((r.expected, r.observed) for r in step.probes)
            )
            style = f"; denies seen as {seen}" if seen else ""
        extra = "".join(f", {c[k]} {k}" for k in ("xfailed", "skipped", "error") if c.get(k))
        lines.append(
            f"  {scenario}: {c['passed']} passed, {c['failed']} failed{extra}{when}{style}"
        )
    return lines


def sequence_lines(steps: Iterable[StepResult], scenarios: tuple[str, ...]) -> list[str]:
    """Time to enforce of the multi-step tests (walkthrough, round trip), step by step."""
    lines = []
    for s in steps:
        if s.scenario in scenarios and s.step != RESTORE_STEP:
            tte = "never" if s.time_to_enforce is None else f"{s.time_to_enforce:.2f}s"
            lines.append(f"  {s.scenario}: {s.step}: enforced after {tte}")
    return lines


def not_enforced_line(cni: str, steps: Iterable[StepResult]) -> str:
    """How many of the probes the policies deny got through, for the tutorial's scenarios and
    the catalogue's states apart."""
    counts = {"tutorial": [0, 0], "catalogue": [0, 0]}
    for s in steps:
        part = "catalogue" if s.scenario in scenario_catalogue.BY_ID else "tutorial"
        if part == "tutorial" and s.step != s.scenario:
            continue  # a sequence's or a transition's own observation
        for r in s.probes:
            if not r.allowed:
                counts[part][1] += 1
                counts[part][0] += bool(r.observed and r.observed.outcome in THROUGH)
    parts = [f"{part} {n} of {total}" for part, (n, total) in counts.items() if total]
    return (
        f"{cni} does NOT enforce NetworkPolicy: of the probes the policies deny, "
        f"{', '.join(parts) or 'none'} got through anyway."
    )


def path_line(steps: Iterable[StepResult]) -> str:
    """The probes by path when the pods ran on two nodes, each with how many were not as
    expected: "probes by path: same-node 2520 (0 failed), cross-node 3360 (12 failed), ..."."""
    counts = counts_by_path(steps)
    if not counts:
        return ""
    parts = [f"{path} {c.total} ({c.failed} failed)" for path, c in counts.items()]
    return "probes by path: " + ", ".join(parts)


def terminal_summary(
    tr: Any,
    settings: SuiteSettings,
    setup_error: str | None,
    tests: list[TestRecord],
    processes: list[ProcessResults],
) -> None:
    if setup_error:
        tr.section("netpol-conformance: set-up failed", red=True)
        tr.write_line(setup_error)
    steps = [s for p in processes for s in p.steps]
    if not steps and not any(t.scenario for t in tests):
        return
    p = settings.profile
    tr.section("netpol-conformance")
    tr.write_line(
        f"cluster {settings.cluster}, cni {p.name}: enforces NetworkPolicy: "
        f"{'yes' if p.enforces else 'no'}, deny style: {p.deny_description}"
    )
    for weakened in weakened_checks(settings):
        tr.write_line(f"WARNING: {weakened}", yellow=True, bold=True)
    for line in scenario_lines(tests, steps, p):
        tr.write_line(line)
    for line in sequence_lines(steps, ("walkthrough", "roundtrip")):
        tr.write_line(line)
    if line := path_line(steps):
        tr.write_line(line)
    totals = phase_totals(processes)
    if totals:
        parts = [f"{n} {totals[n]:.1f}s" for n in PHASES if n in totals]
        tr.write_line(
            f"time by phase (over {len(processes)} process{'es' if len(processes) != 1 else ''}"
            f", {sum(s.polls for s in steps)} matrix polls): " + ", ".join(parts)
        )
    for name, errors in ((proc.name, proc.setup_errors) for proc in processes):
        for scenario, error in errors.items():
            tr.write_line(f"  {name}: {scenario} could not be set up: {error.splitlines()[0]}")
    if not p.enforces:
        tr.write_line(not_enforced_line(p.name, steps))


class RunReporter:
    """Registered in the controller: records every test (workers' included), writes the
    results file and prints the summary."""

    def __init__(self, state: ProcessState, selection: dict[str, Any] | None = None) -> None:
        self.state = state
        self.selection = selection or {}
        self.lost: dict[str, str] = {}  # scope -> why (a crashed worker), set at the end
        self.settings = state.settings
        self.tests: list[TestRecord] = []
        self.processes: list[ProcessResults] = []
        self.started = now()
        self.write_error: str | None = None
        path = self.settings.results_path
        if path is not None and path.exists():
            # A file from an earlier run must never stand for this one.
            try:
                path.unlink()
            except OSError as exc:
                raise UsageError(f"cannot replace the results file {path}: {exc}") from None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = test_record(report)
        if record is not None:
            self.tests.append(record)

    def write_results(self, exitstatus: int, info: ClusterInfo | None) -> None:
        """Write the results file (after clean-up has run); a failure is kept as one line."""
        path = self.settings.results_path
        if path is None:
            return
        setup_error = self.state.session.setup_error
        record = build_run_record(
            self.settings,
            info,
            self.tests,
            self.processes,
            self.started,
            run_status(exitstatus, setup_error, bool(self.lost)),
            setup_error or "",
            self.selection,
            self.lost,
        )
        try:
            write_results(record, path)
        except ConformanceError as exc:
            self.write_error = str(exc)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminal_summary(
            terminalreporter,
            self.settings,
            self.state.session.setup_error,
            self.tests,
            self.processes,
        )
        if self.write_error:
            terminalreporter.write_line(f"netpol-conformance: {self.write_error}", red=True)
