"""The shell kept open per container: scripts written to a real ``sh`` through a stream that
behaves as the Kubernetes client's exec stream does (stdout and stderr channels, is_open,
update), read up to each run's own end marker."""

from __future__ import annotations

import os
import select
import subprocess
import time
from typing import Any

import pytest

from netpol_conformance.cluster.shell_session import SessionPool, ShellSession
from netpol_conformance.probe.batch import Batch


class PipeStream:
    """A local ``sh`` behind the methods of kubernetes.stream's WSClient that a session uses."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["sh"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._buf = {"out": "", "err": ""}
        self._open = True
        self.written: list[str] = []

    def _pull(self, timeout: float) -> None:
        assert self.proc.stdout and self.proc.stderr
        fds = {self.proc.stdout.fileno(): "out", self.proc.stderr.fileno(): "err"}
        ready, _, _ = select.select(list(fds), [], [], timeout)
        for fd in ready:
            data = os.read(fd, 65536)
            if data:
                self._buf[fds[fd]] += data.decode(errors="replace")
            elif self.proc.poll() is not None:
                self._open = False

    def update(self, timeout: float = 0) -> None:
        if self._open:
            self._pull(timeout)

    def is_open(self) -> bool:
        return self._open

    def write_stdin(self, data: str) -> None:
        assert self.proc.stdin
        self.written.append(data)
        self.proc.stdin.write(data.encode())
        self.proc.stdin.flush()

    def peek_stdout(self) -> bool:
        return bool(self._buf["out"])

    def peek_stderr(self) -> bool:
        return bool(self._buf["err"])

    def read_stdout(self, timeout: float = 0) -> str:
        out, self._buf["out"] = self._buf["out"], ""
        return out

    def read_stderr(self, timeout: float = 0) -> str:
        err, self._buf["err"] = self._buf["err"], ""
        return err

    def read_all(self) -> str:
        return ""

    def close(self) -> None:
        self._open = False
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def streams() -> Any:
    opened: list[PipeStream] = []

    def open_stream() -> PipeStream:
        s = PipeStream()
        opened.append(s)
        return s

    yield opened, open_stream
    for s in opened:
        s.close()


def test_runs_share_one_shell_and_read_only_their_own_output(streams: Any) -> None:
    opened, open_stream = streams
    session = ShellSession(open_stream, "x/a")
    first = session.run("echo one; echo err >&2; exit_code=4; (exit 4)", 10)
    second = session.run('echo "$$"', 10)
    third = session.run('echo "$$"', 10)
    assert (first.returncode, first.stdout, first.error) == (4, "one\n", "")
    assert "err" in first.stderr
    assert second.stdout == third.stdout  # the same shell
    assert len(opened) == 1 and session.opened == 1


def test_a_probe_batch_reads_the_same_through_a_session(streams: Any) -> None:
    _, open_stream = streams
    session = ShellSession(open_stream, "x/a")
    batch = Batch.of([["sh", "-c", "echo hi; exit 7"], ["printf", "%s", "a\nb"], ["true"]])
    alone = subprocess.run(["sh", "-c", batch.script], capture_output=True, text=True)
    for _ in range(2):
        result = session.run(batch.script, 10)
        assert batch.results(result.stdout) == batch.results(alone.stdout)
        assert batch.results(result.stdout) == {0: (7, "hi"), 1: (0, "a\nb"), 2: (0, "")}


def test_tools_never_read_the_sessions_stdin(streams: Any) -> None:
    """A tool that reads its stdin sees end of file at once; the shell's next command (our
    end marker) is not swallowed."""
    _, open_stream = streams
    session = ShellSession(open_stream, "x/a")
    result = session.run("cat; echo after", 5)
    assert (result.returncode, result.stdout, result.error) == (0, "after\n", "")


def test_a_run_that_overstays_closes_the_session_and_the_next_opens_a_new_one(
    streams: Any,
) -> None:
    opened, open_stream = streams
    session = ShellSession(open_stream, "x/a")
    t0 = time.monotonic()
    slow = session.run("echo started; sleep 30", 0.5)
    assert time.monotonic() - t0 < 5
    assert slow.returncode == -1 and "did not finish in" in slow.error
    assert slow.stdout == "started\n"
    after = session.run("echo fresh", 5)
    assert (after.stdout, after.error) == ("fresh\n", "")
    assert len(opened) == 2 and not opened[0].is_open()


def test_a_shell_that_exits_is_an_error_then_reopened(streams: Any) -> None:
    opened, open_stream = streams
    session = ShellSession(open_stream, "x/a")
    gone = session.run("echo bye; exit 3", 5)
    assert gone.returncode == -1 and "the shell ended" in gone.error
    assert gone.stdout == "bye\n"
    assert session.run("echo back", 5).stdout == "back\n"
    assert len(opened) == 2


def test_an_earlier_runs_marker_cannot_end_a_later_run(streams: Any) -> None:
    """A script that prints what looks like an end marker does not end its run early."""
    _, open_stream = streams
    session = ShellSession(open_stream, "x/a")
    result = session.run('echo "NPC-END 0123456789abcdef 0"; echo real', 5)
    assert result.stdout == "NPC-END 0123456789abcdef 0\nreal\n"


def test_a_stream_that_cannot_open_is_one_error_not_an_exception() -> None:
    def refuse() -> Any:
        raise OSError("connection refused by the API server")

    result = ShellSession(refuse, "x/a").run("true", 5)
    assert result.returncode == -1
    assert result.error == "exec in x/a: connection refused by the API server"


def test_the_pool_keeps_one_session_per_container_and_forgets_deleted_ones(
    streams: Any,
) -> None:
    opened, open_stream = streams
    pool = SessionPool(lambda ns, pod, container: open_stream)
    for _ in range(3):
        assert pool.run("x", "a", "probe", "echo 1", 5).stdout == "1\n"
        assert pool.run("x", "b", "probe", "echo 2", 5).stdout == "2\n"
    assert len(opened) == 2
    pool.forget(pods={("x", "a")})
    assert not opened[0].is_open() and opened[1].is_open()
    pool.run("x", "a", "probe", "true", 5)
    assert len(opened) == 3
    pool.forget(namespaces={"x"})
    assert not any(s.is_open() for s in opened)
