"""A shell kept open in a container: each script is written to its stdin and its output read
up to an end marker, so a poll of many probes costs no new exec.

An exec costs about 80 ms of CPU on the node before its command starts (the API server,
the kubelet, the container runtime and ``runc exec``), as much as the probes of a small
batch. A session pays it once per pod: ``sh`` reads

    { SCRIPT
    } </dev/null
    echo "NPC-END <nonce> $?"

from its stdin and runs it; the script's tools never read the session's stdin. The random
nonce of each run ends that run's output only, so nothing left of an earlier run can end a
later one, and a script's own output cannot pose as the marker of a run it does not know.

A run that does not end in time, a stream the API server closed (the pod was deleted) or
a shell that exited closes the session; the next run opens a new one. A script is never
written twice: a retried probe batch would bind its UDP source ports again.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from netpol_conformance.cluster.base import ExecResult

END = "NPC-END"
Opener = Callable[[], Any]  # opens the stream: a kubernetes.stream WSClient running `sh`


class ShellSession:
    def __init__(self, open_stream: Opener, where: str) -> None:
        self._open_stream = open_stream
        self.where = where  # namespace/pod, for messages
        self._stream: Any = None
        self.lock = threading.Lock()  # one run at a time
        self.opened = 0  # how many streams this session has opened

    def _alive(self) -> bool:
        if self._stream is None:
            return False
        try:
            self._stream.update(timeout=0)
        except Exception:
            return False
        return bool(self._stream.is_open())

    def _ensure_open(self) -> None:
        if not self._alive():
            self.close()
            self._stream = self._open_stream()
            self.opened += 1

    def run(self, script: str, timeout: float) -> ExecResult:
        """Run ``script`` in the session's shell; never raises for the session's failures."""
        nonce = secrets.token_hex(8)
        end = re.compile(rf"^{END} {nonce} (\d+)$", re.MULTILINE)
        try:
            self._ensure_open()
        except Exception as exc:
            self.close()
            return ExecResult(-1, "", error=f"exec in {self.where}: {exc}")
        stream = self._stream
        try:
            stream.write_stdin(f'{{ {script}\n}} </dev/null\necho "{END} {nonce} $?"\n')
        except Exception as exc:
            self.close()
            return ExecResult(-1, "", error=f"exec in {self.where}: {exc}")
        stdout, stderr = "", ""
        deadline = time.monotonic() + timeout
        try:
            while True:
                if stream.peek_stdout():
                    stdout += stream.read_stdout(timeout=0)
                if stream.peek_stderr():
                    stderr += stream.read_stderr(timeout=0)
                m = end.search(stdout)
                if m:
                    stream.read_all()  # the client keeps everything it read: drop it
                    return ExecResult(int(m.group(1)), stdout[: m.start()], stderr)
                if not stream.is_open():
                    self.close()
                    return ExecResult(
                        -1, stdout, stderr, error=f"exec in {self.where}: the shell ended"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    self.close()
                    return ExecResult(
                        -1, stdout, stderr, error=f"exec did not finish in {timeout:.0f}s"
                    )
                stream.update(timeout=min(left, 1.0))
        except Exception as exc:
            self.close()
            return ExecResult(-1, stdout, stderr, error=f"exec in {self.where}: {exc}")

    def close(self) -> None:
        """End the shell: its stdin closes with the stream, and it exits."""
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()


class SessionPool:
    """One session per (namespace, pod, container), opened on first use."""

    def __init__(self, opener: Callable[[str, str, str], Opener]) -> None:
        self._opener = opener
        self._sessions: dict[tuple[str, str, str], ShellSession] = {}
        self._lock = threading.Lock()

    def run(
        self, namespace: str, pod: str, container: str, script: str, timeout: float
    ) -> ExecResult:
        key = (namespace, pod, container)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                session = ShellSession(self._opener(*key), f"{namespace}/{pod}")
                self._sessions[key] = session
        with session.lock:
            return session.run(script, timeout)

    def forget(
        self, namespaces: set[str] = frozenset(), pods: set[tuple[str, str]] = frozenset()
    ) -> None:
        """Close the sessions into these namespaces and (namespace, pod)s, being deleted."""
        with self._lock:
            keys = [k for k in self._sessions if k[0] in namespaces or k[:2] in pods]
            sessions = [self._sessions.pop(k) for k in keys]
        for s in sessions:
            with s.lock:
                s.close()

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for s in sessions:
            with s.lock:
                s.close()
