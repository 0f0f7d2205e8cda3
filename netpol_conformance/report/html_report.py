"""The report page: one self-contained HTML file, no script, no network asset.

A header with the run's metadata and verdict, the upgrade's timeline when the run is the one
after an upgrade-check, a summary of the steps with their time to enforce as an inline SVG
chart, the comparison with an earlier run when given, then every step with its policies and
truth tables. The page comes from the templates in ``templates/`` with autoescaping: every
value given to them is plain text, escaped there; only the SVG charts, which escape their own
labels, are passed as markup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from markupsafe import Markup

from netpol_conformance.report.comparison import (
    DEFAULT_LIMIT,
    HEADER,
    TITLES,
    counts_line,
    enforce_delta,
    rows,
    seconds,
    verdict,
)
from netpol_conformance.report.html_step import policy_text, probe_rows, step_facts, truth_cell
from netpol_conformance.report.html_upgrade import upgrade_view
from netpol_conformance.report.marks import DEVIATES, DIFFERS, MEANINGS, NOT_OBSERVED, STATE_MARKS
from netpol_conformance.report.rendering import render
from netpol_conformance.report.summary import (
    PASSED,
    RunSummary,
    families,
    paths,
    run_title,
    summarize,
    weakened,
)
from netpol_conformance.report.svg import EnforceBar, enforce_chart
from netpol_conformance.report.truth_tables import grids
from netpol_conformance.results.compare import GATING, Change, Comparison, keyed_steps
from netpol_conformance.results.records import RunRecord

VERDICT_BADGE = {
    "passed": "\u2713 PASSED",
    "failed": "\u2717 FAILED",
    "error": "\u26a0 COULD NOT RUN",
    "interrupted": "\u26a0 INTERRUPTED",
}


def stylesheet() -> str:
    return resources.files("netpol_conformance.report").joinpath("report.css").read_text("utf-8")


@dataclass(frozen=True)
class ChangeView:
    kind: str
    title: str
    rows: list[list[str]]
    more: int
    gating: bool


@dataclass(frozen=True)
class ComparisonView:
    before: str
    after: str
    state: str
    badge: str
    verdict: str
    others: str
    header: list[str]
    metadata: list[list[str]]
    changes: list[ChangeView]
    threshold: str
    enforcement: list[list[str]]


def comparison_view(
    c: Comparison, before: str, after: str, limit: int = DEFAULT_LIMIT
) -> ComparisonView:
    changes = []
    for kind in Change:
        shown, more = rows(c, kind, limit)
        if shown:
            changes.append(
                ChangeView(
                    kind.value,
                    f"{TITLES[kind]} ({len(c.of(kind))})",
                    [[kind.value, *r.cells] for r in shown],
                    more,
                    kind in GATING,  # what does not gate is folded: it would hide the steps
                )
            )
    return ComparisonView(
        before=before,
        after=after,
        state="passed" if c.passed else "failed",
        badge="\u2713 NOTHING REGRESSED" if c.passed else "\u2717 REGRESSED",
        verdict=verdict(c),
        others=counts_line(c, gating=False),
        header=list(HEADER),
        metadata=[[m.field, m.before or "-", m.after or "-"] for m in c.metadata],
        changes=changes,
        threshold=f"{c.threshold:g}",
        enforcement=[
            [str(e.step), seconds(e.before), seconds(e.after), enforce_delta(e)]
            for e in c.enforcement
        ],
    )


def _meta(run: RunRecord) -> list[tuple[str, str]]:
    cni = run.cni
    enforcement = (
        f"enforces NetworkPolicy, deny style: {cni.deny_style}"
        if cni.enforces
        else "does not enforce NetworkPolicy"
    )
    return [
        ("CNI", f"{cni.name} {cni.version or '(version not shown by the cluster)'}"),
        ("profile", enforcement),
        (
            "cluster",
            f"{run.cluster.kind}, Kubernetes {run.cluster.kubernetes_version or 'unknown'}"
            + (f", context {run.cluster.context}" if run.cluster.context else ""),
        ),
        ("run", f"{run.started} to {run.finished}, status {run.status}"),
        ("suite", f"netpol-conformance {run.suite_version}"),
    ]


def _suite(run: RunRecord) -> str:
    """Whose verdict the header gives, when the page also holds an upgrade's."""
    if run.upgrade is None:
        return ""
    if not run.upgrade.passed:
        return f"the upgrade failed: {'; '.join(run.upgrade.reasons)}; the suite after it: "
    return "the upgrade passed; the suite after it: "


def _chart(summary: RunSummary, before: RunRecord | None) -> Markup:
    old = {key: step.time_to_enforce for key, step in keyed_steps(before)} if before else {}
    bars = [
        EnforceBar(
            str(s.key), s.step.time_to_enforce, old.get(s.key), before is not None and s.key in old
        )
        for s in summary.steps
    ]
    return enforce_chart(bars)


def render_html(
    run: RunRecord,
    before: RunRecord | None = None,
    comparison: Comparison | None = None,
    names: tuple[str, str] = ("before", "this run"),
) -> str:
    """The whole page for ``run``; with ``before`` and its ``comparison``, that too."""
    summary = summarize(run)
    # The page's verdict: on an upgrade's page, the upgrade's first (a passing suite after a
    # failed upgrade must not lead the page with PASSED).
    header_state = summary.verdict
    if run.upgrade is not None and not run.upgrade.passed:
        header_state = "failed"
    anchors = [f"step-{i + 1}" for i in range(len(summary.steps))]
    page = render(
        "page.html.j2",
        state_marks=STATE_MARKS,
        truth_cell=truth_cell,
        probe_rows=probe_rows,
        step_facts=step_facts,
        policy_text=policy_text,
        grids=grids,
        title=run_title(run),
        verdict_word=VERDICT_BADGE[summary.verdict][2:].lower(),
        css=Markup(stylesheet()),  # the package's own file
        header_state=header_state,
        badge=VERDICT_BADGE[header_state],
        headline=_suite(run) + summary.headline,
        weakened=weakened(run),
        meta=_meta(run),
        nodes=[f"{n.name}: {', '.join(n.pods) or 'no test pods'}" for n in run.cluster.nodes],
        error=run.error,
        option_count=len(run.options),
        options=json.dumps(run.options, indent=1, sort_keys=True, default=str),
        upgrade=upgrade_view(run.upgrade) if run.upgrade is not None else None,
        steps=list(zip(summary.steps, anchors, strict=True)),
        families=families(summary),
        paths=paths(summary),
        enforce_text=lambda t: "not converged" if t is None else f"{t:.1f} s",
        has_before=before is not None,
        chart=_chart(summary, before) if summary.steps else "",
        setup_errors=list(run.setup_errors.items()),
        comparison=comparison_view(comparison, *names) if comparison is not None else None,
        tests=[t for t in run.tests if t.outcome != PASSED],
        meanings=MEANINGS,
        not_observed=NOT_OBSERVED,
        differs=DIFFERS,
        deviates=DEVIATES,
    )
    return str(page)
