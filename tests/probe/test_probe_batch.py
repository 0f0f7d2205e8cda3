"""The batch script really runs: one ``sh -c`` per source pod, every probe in parallel, and
nothing a tool prints can forge or spoil another probe's result."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from netpol_conformance.probe.batch import MARKER, OUTPUT_LIMIT, Batch, parse_batch_script
from netpol_conformance.probe.classify import classify_curl, classify_dig, classify_udp
from netpol_conformance.probe.commands import ProbeSettings, curl_argv, dig_argv, udp_argv
from netpol_conformance.probe.outcome import Outcome

CAPTURED = Path(__file__).resolve().parent / "captured"
SHELLS = [s for s in ("sh", "bash", "busybox") if shutil.which(s)]


def run(batch: Batch, shell: str = "sh") -> str:
    argv = [shell, "sh", "-c"] if shell == "busybox" else [shell, "-c"]
    result = subprocess.run(
        [*argv, batch.script], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def run_batch(argvs: Sequence[Sequence[str]], shell: str = "sh") -> dict[int, tuple[int, str]]:
    batch = Batch.of(argvs)
    return batch.results(run(batch, shell))


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
    assert run_batch(argvs, shell) == {
        0: (7, ""),
        1: (0, "hello"),
        2: (3, "a\nb\nc"),  # newlines kept (the shell drops only the trailing ones)
        3: (28, "to-stderr"),  # stderr is captured: curl writes its message there
        4: (1, ""),
        5: (0, ""),
    }


@pytest.mark.parametrize("shell", SHELLS)
def test_a_tool_cannot_forge_a_result_line(shell: str) -> None:
    """Carriage returns, newlines and marker lines in a tool's output stay inside its result."""
    batch = Batch.of([["sh", "-c", "sleep 0.2; exit 28"], ["sh", "-c", "printf 'x'; exit 0"]])
    forged = f"\r{MARKER} {batch.nonce} 0 0 \n{MARKER} {batch.nonce} 0 0 66616b65\r\n"
    evil = ["printf", "%s", forged]
    batch = Batch((*batch.argvs, tuple(evil)), batch.nonce)
    stdout = run(batch, shell)
    results = batch.results(stdout)
    assert results[0] == (28, "")
    assert results[2] == (0, forged.rstrip("\n"))
    assert len(stdout.splitlines()) == 3  # one line per probe, whatever they printed
    assert all(ln.startswith(f"{MARKER} {batch.nonce} ") for ln in stdout.splitlines())


def test_bytes_that_are_not_text_are_carried() -> None:
    results = run_batch([["printf", "\\001\\033[31m\\377 \\r end"]])
    assert results[0] == (0, "\x01\x1b[31m\ufffd \r end")


def test_lines_of_another_batch_or_noise_are_ignored() -> None:
    batch = Batch.of([["true"], ["true"]])
    other = Batch.of([["true"]])
    stdout = (
        'Defaulted container "probe" out of: server, probe\n'
        f"{other.result_line(0, 0, 'other batch')}\n"
        f"{MARKER} {batch.nonce} 1 7 6375726c\n"
        f"{MARKER} {batch.nonce} 5 0 6f7574\n"  # beyond the batch
        f"{MARKER} {batch.nonce} 0 0 abc\n"  # odd number of hex digits: cut short
        f"{MARKER} {batch.nonce} 0 0 zz\n"  # not hex
        f"  {MARKER} {batch.nonce} 0 28  \r\n"
    )
    assert batch.results(stdout) == {0: (28, ""), 1: (7, "curl")}
    assert batch.results("") == {}


def test_result_line_is_what_the_script_prints() -> None:
    """A simulated cluster answers with result_line; the real script must print the same."""
    output = "line one\nline two: ü"
    batch = Batch.of([["printf", "%s", output], ["sh", "-c", "exit 3"]])
    lines = run(batch).splitlines()
    assert sorted(lines) == sorted([batch.result_line(0, 0, output), batch.result_line(1, 3, "")])


def test_every_batch_has_its_own_nonce() -> None:
    nonces = {Batch.of([["true"]]).nonce for _ in range(50)}
    assert len(nonces) == 50
    assert all(len(n) == 16 for n in nonces)


def test_missing_tool_is_127_with_the_shells_message() -> None:
    rc, text = run_batch([["echo", "ok"], ["npc-no-such-tool", "-x"]])[1]
    assert rc == 127
    assert "npc-no-such-tool" in text and "not found" in text
    assert classify_curl(rc, text).outcome is Outcome.EXEC_ERROR


def test_probes_run_in_parallel() -> None:
    n, nap = 8, 0.5
    argvs = [["sh", "-c", f"sleep {nap}; exit {i}"] for i in range(n)]
    t0 = time.monotonic()
    results = run_batch(argvs)
    elapsed = time.monotonic() - t0
    assert results == {i: (i, "") for i in range(n)}
    assert elapsed < n * nap / 2, f"{n} probes of {nap}s took {elapsed:.2f}s: not in parallel"


@pytest.mark.parametrize("shell", SHELLS)
def test_lines_of_parallel_probes_with_long_outputs_do_not_interleave(shell: str) -> None:
    n = 40
    argvs = [
        ["sh", "-c", f"sleep 0.2; head -c 2000 /dev/zero | tr '\\0' {i % 10}"] for i in range(n)
    ]
    results = run_batch(argvs, shell)
    assert results == {i: (0, str(i % 10) * OUTPUT_LIMIT) for i in range(n)}


def test_arguments_are_quoted_not_interpreted() -> None:
    tricky = 'it\'s $HOME; `echo no` && echo "x" | cat &'
    assert run_batch([["echo", tricky], ["printf", "%s", "a b  c"]]) == {
        0: (0, tricky),
        1: (0, "a b  c"),
    }


# --- parse_batch_script ------------------------------------------------------------------------


def test_parse_batch_script_round_trips_every_probe_kind() -> None:
    settings = ProbeSettings(timeout=1.5)
    argvs = [
        curl_argv("fd00::7", 80, settings),
        udp_argv("10.244.0.9", 5432, settings, 21000),
        dig_argv("kubernetes.default.svc.cluster.local", settings, 21001, "10.244.0.8"),
        ["echo", "&", "it's", "a;b", ""],
    ]
    batch = Batch.of(argvs)
    parsed = parse_batch_script(batch.script)
    assert parsed == batch
    assert [list(a) for a in parsed.argvs] == argvs


@pytest.mark.parametrize(
    "script",
    [
        "",
        "curl http://10.0.0.1/",
        "npc() { :; }\nnpc 0 true &\nwait",
        "{prelude}\nnpc 1 true &\nwait",  # indices out of order
        "{prelude}\nnpc 0 true\nwait",  # not in the background
        "{prelude}\nnpc 0 true &",  # no wait
        "{prelude}\nnpc 0 'unterminated &\nwait",
        "{prelude}\nrm -rf / &\nwait",
    ],
)
def test_parse_batch_script_refuses_anything_else(script: str) -> None:
    prelude = Batch.of([["true"]]).script.splitlines()[0]
    with pytest.raises(ValueError, match="not a probe batch script"):
        parse_batch_script(script.replace("{prelude}", prelude))


# --- the real tools' outputs through a real batch ----------------------------------------------


def test_captured_outputs_survive_the_batch() -> None:
    """The real tools' outputs, replayed through the batch, classify as they do directly."""
    replay = 'grep -v "^#>" "$1" | sed "\\$d"; exit "$(tail -n 1 "$1" | cut -d= -f2)"'
    cases = {
        "dig-answer": (classify_dig, Outcome.DNS_OK),
        "dig-dropped": (classify_dig, Outcome.DNS_FAIL),
        "dig-nxdomain": (classify_dig, Outcome.DNS_NEGATIVE),
        "curl-dropped": (classify_curl, Outcome.TIMEOUT),
        "curl-rejected": (classify_curl, Outcome.REFUSED),
        "curl-no-route": (classify_curl, Outcome.UNREACHABLE),
        "curl-connected": (classify_curl, Outcome.CONNECTED),
        "udp-reply": (classify_udp, Outcome.CONNECTED),
        "udp-rejected": (classify_udp, Outcome.REFUSED),
    }
    argvs = [["sh", "-c", replay, "sh", str(CAPTURED / f"{name}.txt")] for name in cases]
    results = run_batch(argvs)
    for i, (name, (classify, outcome)) in enumerate(cases.items()):
        assert classify(*results[i]).outcome is outcome, name
