"""The catalogue's fault proof: faults the tutorial cannot see, each failing the catalogue on
exactly the scenarios it breaks and naming a probe with its command, while the tutorial-only run
passes under all of them.

Each case runs the real suite in a subprocess from the repository root, as a user would; the
catalogue runs are narrowed to the families a fault touches (``-m``), so that a wrong failure
elsewhere in those families shows too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--enforce-timeout", "2", "--confirm-window", "0.3", "-p", "no:cacheprovider", "-q"]


@dataclass(frozen=True)
class Breaks:
    families: str  # the -m expression of the catalogue run
    failing: frozenset[str]  # the ids of the tests that must fail, and no others
    probe: str  # one probe that must be named with the command that runs it
    command: str  # a regex of that command


def curl(namespace: str, pod: str, port: int) -> str:
    return rf"kubectl exec -n {namespace}-[a-z0-9]+ {pod} -c probe -- curl [^\n]*:{port}/"


def socat_sctp(namespace: str, pod: str, port: int) -> str:
    return (
        rf"kubectl exec -n {namespace}-[a-z0-9]+ {pod} -c probe -- socat [^\n]*"
        rf"SCTP-CONNECT:[0-9.]+:{port},"
    )


FAULTS: dict[str, Breaks] = {
    # 81-83 opened as 81 alone: 83, the last port of the range, stays closed.
    "ignore-endport": Breaks(
        "ports",
        frozenset({"[beyond-endport-ingress][policies]", "[beyond-endport-egress][policies]"}),
        "x/b->x/a:83/TCP",
        curl("x", "b", 83),
    ),
    # `web` is 81 on a and 80 elsewhere: read on the client, it opens the wrong number.
    "named-port-on-source": Breaks(
        "ports",
        frozenset(
            {
                "[beyond-named-port-differs-per-pod][policies]",
                "[beyond-named-port-differs-per-pod-egress][policies]",
            }
        ),
        "x/b->x/a:81/TCP",
        curl("x", "b", 81),
    ),
    "except-overrides-allow": Breaks(
        "ip_block",
        frozenset({"[beyond-except-and-another-allow][and-allow-y-b]"}),
        "x/a->y/b:80/TCP",
        curl("x", "a", 80),
    ),
    "stale-labels": Breaks(
        "label_updates",
        frozenset(
            {
                "[upstream-21-from-updated-namespace][y-labelled]",
                "[upstream-22-from-updated-pod][x-b-labelled]",
                "[upstream-24-deny-to-updated-pod][x-a-labelled]",
                "[beyond-namespace-label-removed][label-removed]",
                "[beyond-pod-label-removed][label-removed]",
            }
        ),
        "y/b->x/a:80/TCP",
        curl("y", "b", 80),
    ),
    # The pod created under a deny answers for 3 s before its rules exist.
    "new-pod-open:3": Breaks(
        "new_pods",
        frozenset({"[beyond-new-pod-under-deny][pod-created]"}),
        "x/b->x/d:80/TCP",
        curl("x", "b", 80),
    ),
    # An SCTP port read as TCP: the SCTP-only rule opens TCP 81 (38 sees it) and leaves SCTP 81
    # closed (47 sees that).
    "sctp-as-tcp": Breaks(
        "protocols or ports",
        frozenset(
            {"[upstream-38-sctp-is-not-tcp][policies]", "[upstream-47-ports-sctp][policies]"}
        ),
        "y/a->x/a:81/SCTP",
        socat_sctp("y", "a", 81),
    ),
}


def run_suite(tmp_path: Path, *args: str) -> tuple[int, str]:
    argv = [sys.executable, "-m", "pytest", "suites", "--cluster", "simulated", *FAST, *args]
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env, check=False
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("fault", list(FAULTS))
def test_the_catalogue_catches_the_fault(tmp_path: Path, fault: str) -> None:
    breaks = FAULTS[fault]
    rc, output = run_suite(
        tmp_path, "--simulate-faults", fault, "-n", "2", "-m", f"catalogue and ({breaks.families})"
    )
    assert rc == 1, f"--simulate-faults {fault} was not caught (exit {rc}):\n{output[-4000:]}"
    failed = set(
        re.findall(r"^FAILED suites/test_catalogue\.py::test_catalogue(\S+)", output, re.M)
    )
    assert failed == breaks.failing, output[-4000:]
    assert re.search(rf"^[a-z0-9-]+: {re.escape(breaks.probe)} ", output, re.M), output[-4000:]
    assert re.search(breaks.command, output), output[-4000:]


def test_the_tutorial_alone_passes_under_every_catalogue_fault(tmp_path: Path) -> None:
    """What the catalogue adds: the tutorial's steps and mistakes never touch these bugs."""
    rc, output = run_suite(
        tmp_path, "--simulate-faults", ",".join(FAULTS), "-n", "2", "-m", "tutorial"
    )
    assert rc == 0, output[-4000:]
    assert re.search(r"\d+ passed", output.splitlines()[-1])
