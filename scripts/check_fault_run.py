#!/usr/bin/env python3
"""Check that a suite run under a local-cluster fault failed exactly where the fault breaks.

    scripts/check_fault_run.py RESULTS.json FAULT [ARGS]
    scripts/check_fault_run.py results/bypass.json bypass udp/5432

FAULT is one of ``scripts/local-cluster fault``'s: ``bypass PROTO/PORT``, ``dns-any``,
``stale-rules`` or ``flap PERIOD OFF``; or ``cni-stop NODE``, the enforcer of one node switched
off (``scripts/local-cluster cni stop --node K``). The probes the fault should break are
computed from the run's own plan, as the results file keeps it (every probe of every applied
state, with its expected outcome): those whose expectation is a deny and whose traffic the
fault lets through.

- bypass, dns-any, stale-rules: the probes that missed their expectation are exactly those,
  no more and no fewer, and nothing else failed (no test error, no set-up error).
- cni-stop NODE: the same, for the denied probes whose every denying direction is enforced on
  NODE: egress on the source's node, ingress on the destination's (the results file records
  which directions deny each probe, and which node runs each pod). A probe that the other
  node also denies must still be denied.
- flap: whether a denied probe is caught open depends on when it was probed, so the failing
  probes are some of those (at least one, each failing as flapping), and no allowed probe fails.

Exit 0 when the run failed as it should, 1 when it did not (with the differences), 2 on bad
input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from netpol_conformance.errors import ResultsFileError
from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.results.load import load_results
from netpol_conformance.results.records import ProbeRecord, RunRecord, enforcing_nodes

DENIES = {Outcome.TIMEOUT, Outcome.REFUSED, Outcome.DNS_FAIL}
SHOWN = 15  # differences listed per kind

Opens = Callable[[ProbeRecord], bool]


def enforced_only_on(run: RunRecord, node: str) -> Opens:
    """Whether a denied probe is denied only by the enforcer of ``node``."""
    where = run.cluster.node_of
    if node not in {n.name for n in run.cluster.nodes}:
        known = ", ".join(n.name for n in run.cluster.nodes) or "none recorded"
        raise ValueError(f"cni-stop: no node {node!r} in the run (its nodes: {known})")

    def opened(r: ProbeRecord) -> bool:
        enforcers = enforcing_nodes(where, r.probe.source, r.probe.target, r.denied_by)
        return bool(r.denied_by) and enforcers == {node}

    return opened


def opens(fault: str, args: list[str], run: RunRecord) -> tuple[Opens, bool]:
    """What the fault lets through, and whether every such probe must fail (else: some)."""
    if fault == "bypass":
        if len(args) != 1 or "/" not in args[0]:
            raise ValueError("bypass takes PROTO/PORT, e.g. udp/5432")
        proto, _, port = args[0].partition("/")
        if proto not in ("tcp", "udp") or not port.isdigit():
            raise ValueError(f"bypass: PROTO/PORT is tcp/PORT or udp/PORT, got {args[0]!r}")
        return (lambda r: r.probe.protocol == proto.upper() and r.probe.port == int(port)), True
    if fault == "dns-any" and not args:
        return (lambda r: r.probe.port == 53), True
    if fault == "stale-rules" and not args:
        return (lambda r: True), True
    if fault == "flap" and len(args) == 2:
        return (lambda r: True), False
    if fault == "cni-stop" and len(args) == 1:
        return enforced_only_on(run, args[0]), True
    raise ValueError(f"unknown fault or arguments: {' '.join([fault, *args])}")


def cell(step_scenario: str, step: str, record: ProbeRecord) -> str:
    return f"{step_scenario} / {step}: {record.probe.label}"


def check(run: RunRecord, fault: str, args: list[str]) -> list[str]:
    """The problems: empty when the run failed exactly as the fault should make it fail."""
    lets_through, exact = opens(fault, args, run)
    should, failed, flapping = set(), set(), set()
    for step in run.steps:
        for record in step.probes:
            key = cell(step.scenario, step.step, record)
            if record.expected in DENIES and lets_through(record):
                should.add(key)
            if not record.met:
                failed.add(key)
                if record.flap:
                    flapping.add(key)
    problems = []
    if run.status != "failed":
        problems.append(f"the run's status is {run.status!r}, not 'failed'")
    errors = [t.nodeid for t in run.tests if t.outcome == "error"]
    if errors:
        problems.append(f"{len(errors)} tests errored, e.g. {errors[0]}")
    if run.setup_errors:
        problems.append(f"set-up errors: {', '.join(run.setup_errors)}")
    extra = sorted(failed - should)
    missing = sorted(should - failed) if exact else []
    if not failed:
        problems.append("no probe failed")
    if extra:
        problems.append(f"{len(extra)} probes failed that the fault does not break:")
        problems += [f"  {k}" for k in extra[:SHOWN]]
    if missing:
        problems.append(f"{len(missing)} probes the fault breaks met their expectation:")
        problems += [f"  {k}" for k in missing[:SHOWN]]
    if not exact and failed and not flapping:
        problems.append("no failing probe was reported as flapping")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("fault")
    parser.add_argument("args", nargs="*")
    ns = parser.parse_args(argv)
    try:
        run = load_results(ns.results)
        problems = check(run, ns.fault, ns.args)
    except (ResultsFileError, ValueError) as exc:
        print(f"check_fault_run: {exc}", file=sys.stderr)
        return 2
    what = " ".join([ns.fault, *ns.args])
    failed = sum(not r.met for s in run.steps for r in s.probes)
    if problems:
        print(f"check_fault_run: fault {what}: the run did not fail as it should:")
        print("\n".join(f"  {p}" for p in problems))
        return 1
    flapping = sum(bool(r.flap) for s in run.steps for r in s.probes)
    print(
        f"check_fault_run: fault {what}: {failed} probes failed, exactly those the fault breaks"
        if flapping == 0
        else f"check_fault_run: fault {what}: {failed} denied probes failed, {flapping} of them "
        "as flapping, and no allowed probe"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
