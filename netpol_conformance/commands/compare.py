"""`netpol-conformance compare BEFORE.json AFTER.json`: what changed between two runs.

Exit 0 when nothing regressed or leaked and every probe of the before run was probed after, 1
otherwise, 2 when a file is not a results file. The exit code is the verdict's, wherever the
output goes: a reader that stops early (``| head``) changes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from netpol_conformance.commands.stdout import to_stdout
from netpol_conformance.errors import UsageError
from netpol_conformance.results.compare import DEFAULT_ENFORCE_THRESHOLD

FORMATS = ("table", "markdown", "json")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "compare",
        help="compare two results files: leaks, regressions, fixes, changes",
        description=(
            "Compare two runs' results files (pytest --netpol-results) probe by probe: leaks "
            "(denied by the policies, got through after) first, then regressions, new expected "
            "deviations, fixes, changed categories, time-to-enforce changes, probes in one run "
            "only, and changed metadata and options. Exit 0 when nothing regressed or leaked "
            "and every probe of BEFORE was probed in AFTER, 1 otherwise, 2 on bad input."
        ),
    )
    parser.add_argument("before", metavar="BEFORE.json", help="the earlier run's results file")
    parser.add_argument("after", metavar="AFTER.json", help="the later run's results file")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (terminal), markdown (a PR comment, $GITHUB_STEP_SUMMARY) or json",
    )
    parser.add_argument(
        "--enforce-threshold",
        type=float,
        default=DEFAULT_ENFORCE_THRESHOLD,
        metavar="SECONDS",
        help="report a step's time to enforce when it changed by more than this "
        f"(default: {DEFAULT_ENFORCE_THRESHOLD:g}, two poll intervals on a real cluster)",
    )
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="probes of BEFORE that AFTER did not probe (a narrower selection on purpose) do "
        "not fail the comparison",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from netpol_conformance.report.comparison import (
        comparison_document,
        comparison_markdown,
        print_comparison,
    )
    from netpol_conformance.report.summary import run_title
    from netpol_conformance.results.compare import compare
    from netpol_conformance.results.load import load_results

    if not args.enforce_threshold >= 0:
        raise UsageError(f"--enforce-threshold {args.enforce_threshold:g}: give seconds >= 0")
    before = load_results(args.before)
    after = load_results(args.after)
    comparison = compare(before, after, args.enforce_threshold, args.allow_missing)
    names = (f"{args.before} ({run_title(before)})", f"{args.after} ({run_title(after)})")

    def write() -> None:
        if args.format == "json":
            document = comparison_document(comparison, args.before, args.after)
            json.dump(document, sys.stdout, indent=1, ensure_ascii=False)
            sys.stdout.write("\n")
        elif args.format == "markdown":
            sys.stdout.write(comparison_markdown(comparison, *names))
        else:
            console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
            # rich ends the process with exit 1 on a closed pipe: hand it to to_stdout.
            console.on_broken_pipe = _broken_pipe  # type: ignore[method-assign]
            print_comparison(comparison, console, *names)

    to_stdout(write)
    return comparison.exit_code


def _broken_pipe() -> None:
    raise BrokenPipeError
