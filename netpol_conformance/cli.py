"""`netpol-conformance`: the command-line entry point.

Each subcommand lives in a module of ``netpol_conformance.commands`` with ``add_parser`` (which
sets ``func``) and the function it runs; this module only assembles them and turns the
project's errors into one clear line and an exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from netpol_conformance.commands import (
    catalogue,
    cleanup,
    compare,
    report,
    simulate,
    upgrade_check,
)
from netpol_conformance.errors import ConformanceError

COMMANDS = [simulate, catalogue, compare, report, cleanup, upgrade_check]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netpol-conformance",
        description="Kubernetes NetworkPolicy conformance: oracle, suite helpers and reports.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConformanceError as exc:
        print(f"netpol-conformance: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("netpol-conformance: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`) and the command did not say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # more: not an error
        return 0


if __name__ == "__main__":
    sys.exit(main())
