"""`netpol-conformance report RESULTS.json [BEFORE.json] --html OUT.html [--markdown OUT.md]`.

One self-contained HTML page (and/or markdown) of a run; with BEFORE.json, the comparison too.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from netpol_conformance.commands.stdout import to_stdout
from netpol_conformance.errors import UsageError
from netpol_conformance.output_files import check_output
from netpol_conformance.results.compare import DEFAULT_ENFORCE_THRESHOLD


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "report",
        help="write an HTML (and markdown) report of a results file",
        description=(
            "Write a report of a run's results file (pytest --netpol-results): one "
            "self-contained HTML page with the verdict, the run's metadata, every step's "
            "policies and expected/observed truth tables, and the time to enforce per step; "
            "with BEFORE.json, the comparison with that run on the same page."
        ),
    )
    parser.add_argument("results", metavar="RESULTS.json", help="the run to report")
    parser.add_argument(
        "before", metavar="BEFORE.json", nargs="?", help="an earlier run to compare with"
    )
    parser.add_argument("--html", metavar="OUT.html", help="write the HTML page here")
    parser.add_argument(
        "--markdown", metavar="OUT.md", help="write a markdown summary here (- for stdout)"
    )
    parser.add_argument(
        "--enforce-threshold",
        type=float,
        default=DEFAULT_ENFORCE_THRESHOLD,
        metavar="SECONDS",
        help=f"as for compare (default: {DEFAULT_ENFORCE_THRESHOLD:g})",
    )
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="as for compare: probes of BEFORE that RESULTS did not probe do not gate",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from netpol_conformance.report.html_report import render_html
    from netpol_conformance.report.markdown import render_markdown
    from netpol_conformance.report.summary import summarize
    from netpol_conformance.results.compare import compare
    from netpol_conformance.results.load import load_results
    from netpol_conformance.results.write import write_atomically

    if not args.html and not args.markdown:
        raise UsageError("report: give --html OUT.html and/or --markdown OUT.md")
    if not args.enforce_threshold >= 0:
        raise UsageError(f"--enforce-threshold {args.enforce_threshold:g}: give seconds >= 0")
    check_output(args.html, "--html")
    check_output(args.markdown, "--markdown")
    run_record = load_results(args.results)
    before = load_results(args.before) if args.before else None
    comparison = (
        compare(before, run_record, args.enforce_threshold, args.allow_missing) if before else None
    )
    names = (str(args.before), str(args.results))
    if args.html:
        html = render_html(run_record, before, comparison, names)
        write_atomically(args.html, html, "the HTML report")
    if args.markdown == "-":
        to_stdout(lambda: sys.stdout.write(render_markdown(run_record, comparison, names)))
    elif args.markdown:
        markdown = render_markdown(run_record, comparison, names)
        write_atomically(args.markdown, markdown, "the markdown report")
    summary = summarize(run_record)
    written = " and ".join(p for p in (args.html, args.markdown) if p and p != "-")
    if written:
        print(
            f"wrote {written}: {summary.verdict}, {summary.met} of {summary.probes} probes "
            "as expected" + (f"; compared with {args.before}" if before else ""),
            file=sys.stderr if args.markdown == "-" else sys.stdout,
        )
    return 0
