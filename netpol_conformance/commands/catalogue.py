"""`netpol-conformance catalogue`: the scenarios of the catalogue, or one of them state by
state, with no cluster."""

from __future__ import annotations

import argparse
import difflib
import sys

from netpol_conformance.errors import UsageError
from netpol_conformance.scenarios.catalogue import BY_ID, SCENARIOS
from netpol_conformance.scenarios.evaluate import disagreements
from netpol_conformance.scenarios.listing import (
    catalogue_markdown,
    catalogue_text,
    scenario_text,
)
from netpol_conformance.scenarios.model import Scenario
from netpol_conformance.scenarios.topology import catalogue_topology

EPILOG = """\
Without a scenario, every scenario by family: the upstream Kubernetes e2e spec it mirrors (by
its number in test/e2e/network/netpol/network_policy.go) or "ours", its states and the ports
it probes. --format markdown prints the same as a markdown table.

With a scenario id, each state in turn: the changes that lead to it, then one table per probed
port, a row per source pod and a column per destination: '.' allowed, 'X' denied, as the
hand-written table says; '!' where the oracle disagrees (exit 1). --policies prints the
policies each change applies ({x/b}/32 stands for the network of that pod's address).
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "catalogue",
        help="list the catalogue's scenarios, or show one state by state",
        description="The catalogue of NetworkPolicy scenarios, with no cluster.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "scenario", nargs="?", help="a scenario id, or the start of one (upstream-17)"
    )
    parser.add_argument(
        "--format", choices=("text", "markdown"), default="text", help="the list's format"
    )
    parser.add_argument("--policies", action="store_true", help="print each state's policies")
    parser.set_defaults(func=run)
    return parser


def find(name: str) -> Scenario:
    """The scenario with this id, or the only one whose id starts with it (``upstream-21``)."""
    if name in BY_ID:
        return BY_ID[name]
    starting = [i for i in BY_ID if i.startswith(name)]
    if len(starting) == 1:
        return BY_ID[starting[0]]
    if starting:
        raise UsageError(f"{name!r} names {len(starting)} scenarios: {', '.join(starting)}")
    close = difflib.get_close_matches(name, BY_ID, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "list them with `catalogue`"
    raise UsageError(f"no scenario {name!r} in the catalogue: {hint}")


def run(args: argparse.Namespace) -> int:
    if args.scenario is None:
        text = catalogue_markdown if args.format == "markdown" else catalogue_text
        sys.stdout.write(text(SCENARIOS))
        return 0
    scenario = find(args.scenario)
    topology = catalogue_topology()
    sys.stdout.write(scenario_text(scenario, topology, policies=args.policies))
    return 1 if disagreements(scenario, topology) else 0
