"""The batch script really runs: one ``sh -c`` per source pod, every probe in parallel."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from netpol_conformance.probe.classify import classify_curl, classify_nslookup, parse_batch
from netpol_conformance.probe.commands import MARKER, batch_script
from netpol_conformance.probe.outcome import Outcome

CAPTURED = Path(__file__).resolve().parent / "captured"
SHELLS = [s for s in ("sh", "bash", "busybox") if shutil.which(s)]


def run_batch(argvs: Sequence[Sequence[str]], shell: str = "sh") -> str:
    argv = [shell, "sh", "-c"] if shell == "busybox" else [shell, "-c"]
    result = subprocess.run(
        [*argv, batch_script(argvs)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_exit_codes_and_outputs(shell: str) -> None:
    argvs = [
        ["sh", "-c", "exit 7"],
        ["echo", "hello"],
        ["sh", "-c", "printf 'a\\nb\\nc\\n'; exit 3"],
        ["sh", "-c", "echo to-stderr >&2; exit 28"],
        ["false"],
        ["true"],
    ]
    stdout = run_batch(argvs, shell)
    assert parse_batch(stdout, len(argvs)) == {
        0: (7, ""),
        1: (0, "hello"),
        2: (3, "a|b|c"),  # newlines folded, so one line per probe
        3: (28, "to-stderr"),  # stderr is captured: curl writes its message there
        4: (1, ""),
        5: (0, ""),
    }
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    assert len(lines) == len(argvs)
    assert all(ln.startswith(f"{MARKER} ") for ln in lines)


def test_missing_tool_is_127_with_the_shells_message() -> None:
    stdout = run_batch([["echo", "ok"], ["npc-no-such-tool", "-x"]])
    rc, text = parse_batch(stdout, 2)[1]
    assert rc == 127
    assert "npc-no-such-tool" in text and "not found" in text
    assert classify_curl(rc, text).outcome is Outcome.EXEC_ERROR


def test_probes_run_in_parallel() -> None:
    n, nap = 8, 0.5
    argvs = [["sh", "-c", f"sleep {nap}; exit {i}"] for i in range(n)]
    t0 = time.monotonic()
    stdout = run_batch(argvs)
    elapsed = time.monotonic() - t0
    assert parse_batch(stdout, n) == {i: (i, "") for i in range(n)}
    assert elapsed < n * nap / 2, f"{n} probes of {nap}s took {elapsed:.2f}s: not in parallel"


def test_lines_of_slow_and_fast_probes_do_not_interleave() -> None:
    """Many probes finishing at once still give exactly one whole line each."""
    n = 40
    argvs = [
        ["sh", "-c", f"sleep 0.2; printf 'line one\\nline two {i}\\n'; exit {i % 5}"]
        for i in range(n)
    ]
    stdout = run_batch(argvs)
    assert parse_batch(stdout, n) == {i: (i % 5, f"line one|line two {i}") for i in range(n)}
    assert len(stdout.splitlines()) == n


def test_arguments_are_quoted_not_interpreted() -> None:
    tricky = 'it\'s $HOME; `echo no` && echo "x" | cat'
    stdout = run_batch([["echo", tricky], ["printf", "%s", "a b  c"]])
    assert parse_batch(stdout, 2) == {0: (0, tricky), 1: (0, "a b  c")}


def test_long_output_is_cut_to_one_bounded_line() -> None:
    stdout = run_batch([["sh", "-c", "head -c 5000 /dev/zero | tr '\\0' x; exit 9"]])
    rc, text = parse_batch(stdout, 1)[0]
    assert rc == 9
    assert text == "x" * 600


def test_forged_result_lines_in_output_are_ignored() -> None:
    """A probe's output cannot pose as another probe's result line: its newlines are folded."""
    argvs = [["sh", "-c", "sleep 0.2; exit 28"], ["sh", "-c", f"echo x; echo '{MARKER} 0 0 fake'"]]
    results = parse_batch(run_batch(argvs), 2)
    assert results[0] == (28, "")
    assert results[1] == (0, f"x|{MARKER} 0 0 fake")


def test_captured_outputs_survive_the_batch() -> None:
    """The real tools' outputs, replayed through the batch, classify as they do directly."""
    replay = 'sed "\\$d" "$1"; exit "$(tail -n 1 "$1" | cut -d= -f2)"'
    argvs = [
        ["sh", "-c", replay, "sh", str(CAPTURED / "nslookup-answer.txt")],
        ["sh", "-c", replay, "sh", str(CAPTURED / "nslookup-dropped.txt")],
        ["sh", "-c", replay, "sh", str(CAPTURED / "curl-dropped.txt")],
        ["sh", "-c", replay, "sh", str(CAPTURED / "curl-rejected.txt")],
        ["sh", "-c", replay, "sh", str(CAPTURED / "curl-connected.txt")],
    ]
    lines = parse_batch(run_batch(argvs), len(argvs))
    answer = classify_nslookup(*lines[0])
    assert (answer.outcome, answer.detail) == (Outcome.DNS_OK, "10.96.0.1")
    assert classify_nslookup(*lines[1]).outcome is Outcome.DNS_FAIL
    assert lines[2][0] == 28
    assert classify_curl(*lines[2]).outcome is Outcome.TIMEOUT
    assert classify_curl(*lines[3]).outcome is Outcome.REFUSED
    assert classify_curl(*lines[4]).outcome is Outcome.CONNECTED


def test_parse_batch_ignores_noise_and_out_of_range_indices() -> None:
    stdout = (
        'Defaulted container "probe" out of: server, probe\n'
        f"{MARKER} 1 7 curl: (7) refused\n"
        f"{MARKER} 5 0 beyond the batch\n"
        f"NPCX 0 0 not a result\n"
        f"  {MARKER} 0 28  \r\n"
    )
    assert parse_batch(stdout, 2) == {0: (28, ""), 1: (7, "curl: (7) refused")}
    assert parse_batch("", 3) == {}
