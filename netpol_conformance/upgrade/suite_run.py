"""Run the suite as pytest does, in a process of its own, and keep its results file.

``python -m pytest SUITES -n auto --tb=no --netpol-results FILE [suite options] [pytest args]``
from the checkout's root; its output is shown line by line with a prefix. On Ctrl-C the run
gets its own SIGINT (it deletes its namespaces then) and is waited for.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from netpol_conformance.errors import SetupError, UsageError
from netpol_conformance.results.load import load_results
from netpol_conformance.results.records import RunRecord

CLEAN_UP_WAIT = 120.0  # seconds a run may take to delete its namespaces after Ctrl-C


def find_suites(given: str | None, cwd: Path, package_root: Path) -> Path:
    """The suites directory: given, or ``suites/`` of the current directory or the checkout."""
    if given is not None:
        path = Path(given)
        if not (path.is_dir() and any(path.glob("test_*.py"))):
            raise UsageError(f"--suites {given}: not a directory with the suite's test_*.py files")
        return path.resolve()
    for candidate in (cwd / "suites", package_root.parent / "suites"):
        if candidate.is_dir() and any(candidate.glob("test_*.py")):
            return candidate.resolve()
    raise UsageError(
        "no suites/ directory here or next to the package: run upgrade-check from a "
        "netpol-conformance checkout, or pass --suites DIR"
    )


@dataclass(frozen=True)
class SuiteCommand:
    suites: Path
    options: tuple[str, ...]  # the suite options given (without --simulate-faults)
    pytest_args: tuple[str, ...]  # after --
    say: Callable[[str], None]

    @property
    def root(self) -> Path:
        return self.suites.parent

    def argv(self, results: Path, extra: Sequence[str] = ()) -> list[str]:
        return [
            sys.executable,
            "-m",
            "pytest",
            str(self.suites),
            "-n",
            "auto",
            "--tb=no",  # the comparison says what changed; tracebacks of failures only bury it
            "--netpol-results",
            str(results),
            *self.options,
            *extra,
            *self.pytest_args,
        ]

    def run(self, name: str, results: Path, extra: Sequence[str] = ()) -> RunRecord:
        """Run the suite; its results, or SetupError when it wrote none."""
        argv = self.argv(results, extra)
        self.say(f"{name}: {' '.join(argv[2:])}")
        results.unlink(missing_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            argv,
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.say(f"  [{name}] {line.rstrip()}")
            code = proc.wait()
        except BaseException:
            _interrupt(proc)
            raise
        if not results.is_file():
            raise SetupError(
                f"the suite {name} the upgrade wrote no results file (pytest exit {code}); "
                "see its output above"
            )
        run = load_results(results)
        if run.status == "error":
            raise SetupError(f"the suite could not run {name} the upgrade: {run.error}")
        return run


def _interrupt(proc: subprocess.Popen[str]) -> None:
    """Let the run clean up after Ctrl-C (it got its own SIGINT from the terminal, or this one)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(CLEAN_UP_WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
