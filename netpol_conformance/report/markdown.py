"""The run as GitHub-flavoured markdown (a job summary, a pull request comment): the summary, the
failed steps and, with a before run, the comparison. Untrusted text goes into it only through
the markdown helpers of `tables`."""

from __future__ import annotations

from netpol_conformance.report.comparison import comparison_markdown
from netpol_conformance.report.html_report import VERDICT_BADGE
from netpol_conformance.report.marks import STATE_MARKS
from netpol_conformance.report.summary import RunSummary, paths, run_title, summarize, weakened
from netpol_conformance.report.tables import md_code, md_table, md_text
from netpol_conformance.results.compare import Comparison
from netpol_conformance.results.records import RunRecord

LIMIT = 100  # rows of probes listed; the HTML report and the results file have them all


def _metadata(summary: RunSummary) -> list[str]:
    run = summary.run
    cni = run.cni
    profile = f"deny style {cni.deny_style}" if cni.enforces else "does not enforce NetworkPolicy"
    rows = [
        ("CNI", f"{cni.name} {cni.version or '(version not shown)'}, {profile}"),
        ("cluster", f"{run.cluster.kind}, Kubernetes {run.cluster.kubernetes_version or '?'}"),
        ("nodes", "; ".join(f"{n.name}: {', '.join(n.pods) or '-'}" for n in run.cluster.nodes)),
        ("run", f"{run.started} to {run.finished}, status {run.status}"),
        ("suite", f"netpol-conformance {run.suite_version}"),
    ]
    if run.error:
        rows.append(("error", run.error))
    return md_table(["", ""], [[md_text(k), md_text(v or "-")] for k, v in rows])


def _steps(summary: RunSummary) -> list[str]:
    body = []
    for s in summary.steps:
        tte = s.step.time_to_enforce
        body.append(
            [
                STATE_MARKS[s.state],
                md_text(str(s.key)),
                str(s.total),
                str(s.met),
                str(s.failed),
                str(s.deviations),
                str(s.step.polls),
                "not converged" if tte is None else f"{tte:.1f} s",
            ]
        )
    header = ["", "step", "probes", "as expected", "not", "deviations", "polls", "enforced after"]
    return md_table(header, body)


def _probes(summary: RunSummary, deviations: bool) -> tuple[list[list[str]], int]:
    body = []
    for s in summary.steps:
        for p in s.step.probes:
            if p.met or bool(p.deviation) != deviations:
                continue
            observed = str(p.observed) if p.observed else "not observed"
            last = md_text(p.deviation) if deviations else md_code(p.command)
            body.append(
                [
                    md_text(str(s.key)),
                    md_code(p.probe.label),
                    p.expected.value,
                    md_text(observed),
                    last,
                ]
            )
    return body[:LIMIT], max(0, len(body) - LIMIT)


def render_markdown(
    run: RunRecord,
    comparison: Comparison | None = None,
    names: tuple[str, str] = ("before", "this run"),
) -> str:
    summary = summarize(run)
    lines = [
        f"# NetworkPolicy conformance: {md_text(run_title(run))}",
        "",
        f"**{VERDICT_BADGE[summary.verdict]}**: {md_text(summary.headline)}",
        "",
        *(f"**Warning: {md_text(w)}**\n" for w in weakened(run)),
        *_metadata(summary),
        "",
    ]
    if by_path := paths(summary):
        rows = [
            [STATE_MARKS[p.state], p.path, str(p.probes)]
            + [str(n) for n in (p.counts.met, p.counts.failed, p.counts.deviations)]
            for p in by_path
        ]
        header = ["", "path", "probes", "as expected", "not", "deviations"]
        lines += ["## By path", "", *md_table(header, rows), ""]
    if summary.steps:
        lines += ["## Steps", "", *_steps(summary), ""]
    for deviations, title, last in (
        (False, "Probes not as expected", "command"),
        (True, "Expected deviations of the CNI", "reason"),
    ):
        body, more = _probes(summary, deviations)
        if body:
            count = len(body) + more
            lines += [f"## {title} ({count})", ""]
            lines += md_table(["step", "probe", "expected", "observed", last], body)
            if more:
                lines += ["", f"... and {more} more (the HTML report lists them all)"]
            lines.append("")
    if run.setup_errors:
        lines += ["## Scenarios that could not be set up", ""]
        lines += [f"- **{md_text(k)}**: {md_text(v)}" for k, v in run.setup_errors.items()]
        lines.append("")
    if comparison is not None:
        lines.append(comparison_markdown(comparison, *names, level=2))
    return "\n".join(lines).rstrip("\n") + "\n"
