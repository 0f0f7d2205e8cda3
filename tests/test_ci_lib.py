"""The helpers of `.ci/run` (`.ci/lib.sh`): a failed check is named again at the end of the log,
with what it named, and the verdict's exit code is the failures'."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / ".ci" / "lib.sh"


def run(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f"set -uo pipefail\nsource {LIB}\n{script}"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_no_failure_is_a_pass(tmp_path: Path) -> None:
    r = run("ci_verdict", tmp_path)
    assert r.returncode == 0
    assert r.stdout == "ci: all passed\n"


def test_every_failure_is_listed_at_the_end_with_its_details(tmp_path: Path) -> None:
    log = tmp_path / "suite.log"
    lines = [
        "....F.",
        "=========================== short test summary info ============================",
        *(f"FAILED suites/test_steps.py::test_step[s{i}] - a probe" for i in range(10)),
        "ERROR suites/test_catalogue.py::test_catalogue[x][y] - could not start",
        "2 failed, 4 passed",
    ]
    log.write_text("\n".join(lines) + "\n")
    r = run(
        'failed "the suite (local) exited 1" "$(failing_tests suite.log)"\n'
        'failed "local-cluster down" "" ""\n'
        'failed "a check" "$(printf "first\\n\\nsecond")"\n'
        "ci_verdict\n"
        "echo not reached",
        tmp_path,
    )
    assert r.returncode == 1
    assert "not reached" not in r.stdout
    err = r.stderr.splitlines()
    # said where it failed, then again at the end
    assert err[:3] == [
        "ci: FAILED: the suite (local) exited 1",
        "ci: FAILED: local-cluster down",
        "ci: FAILED: a check",
    ]
    end = err[err.index("ci: FAILED: 3 check(s):") :]
    assert end == [
        "ci: FAILED: 3 check(s):",
        "  - the suite (local) exited 1",
        *(f"      FAILED suites/test_steps.py::test_step[s{i}] - a probe" for i in range(8)),
        "  - local-cluster down",
        "  - a check",
        "      first",
        "      second",
    ]


def test_failing_tests_names_errors_too_and_nothing_else(tmp_path: Path) -> None:
    log = tmp_path / "suite.log"
    log.write_text(
        "not a test: FAILED mid-line\n"
        "ERROR suites/test_x.py::test_y - boom\n"
        "  FAILED indented\n"
        f"FAILED suites/test_x.py::test_z - {'w' * 400}\n"
    )
    r = run("failing_tests suite.log", tmp_path)
    assert r.returncode == 0
    out = r.stdout.splitlines()
    assert out[0] == "ERROR suites/test_x.py::test_y - boom"
    assert out[1].startswith("FAILED suites/test_x.py::test_z - ww")
    assert len(out) == 2 and len(out[1]) == 240
