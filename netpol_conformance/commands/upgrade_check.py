"""`netpol-conformance upgrade-check --upgrade-command CMD [suite options] [-- pytest args]`.

The CNI upgrade gate: the suite before and after the upgrade, and live probes through it.
Exit 0 when nothing leaked, regressed or was disrupted beyond the limits, 1 otherwise, 2 on
bad input, 3 when the suite or the live probes could not be set up, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from netpol_conformance.commands.upgrade_options import add_gate_options, add_suite_options

    parser = subparsers.add_parser(
        "upgrade-check",
        help="gate a CNI upgrade: the suite before and after, live probes through it",
        description=(
            "Run the suite (before.json), put the tutorial's final state in force in a "
            "deployment of its own, probe it continuously (allowed and denied pairs, DNS from "
            "every pod, held TCP connections) while --upgrade-command runs and until the CNI "
            "is Ready again and the settle period is over, run the suite again (after.json), "
            "compare, and print and write the timeline. Exit 0 when nothing leaked, regressed "
            "or was disrupted beyond the limits, 1 otherwise, 2 on bad input, 3 when it could "
            "not be set up, 130 when interrupted."
        ),
    )
    add_gate_options(parser)
    parser.set_defaults(func=run, suite_options=add_suite_options(parser))
    return parser


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # clean up as on Ctrl-C


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from netpol_conformance.commands.upgrade_run import plan_check, run_check

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)

    def say(message: str) -> None:
        console.print(f"[netpol-conformance] {message}", markup=False, highlight=False)

    plan = plan_check(args, args.suite_options, say, Path.cwd())
    previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        return run_check(plan, console)
    finally:
        signal.signal(signal.SIGTERM, previous)
