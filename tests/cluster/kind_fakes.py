"""Fakes for the kind backend's tests: a recording command runner and Docker's inspect output."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Reply = tuple[int, str, str]  # returncode, stdout, stderr


class FakeRun:
    """Answers commands by their longest matching first words; records every argv.

    A reply may be a list: each call takes the next one, the last one repeats. A reply may also
    be a callable taking the argv, for commands whose effect matters (e.g. `kind create`).
    """

    def __init__(self, replies: Mapping[tuple[str, ...], Any] | None = None) -> None:
        self.replies: dict[tuple[str, ...], Any] = dict(replies or {})
        self.calls: list[list[str]] = []
        self.streamed: list[str] = []

    def __call__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
        tick: Callable[[], None] | None = None,
        timeout: float = 900.0,
    ) -> subprocess.CompletedProcess[str]:
        argv = list(argv)
        self.calls.append(argv)
        rc, out, err = self._reply(argv)
        if on_line is not None:
            for line in (out + err).splitlines():
                self.streamed.append(line)
                on_line(line)
        if tick is not None:
            tick()
        return subprocess.CompletedProcess(argv, rc, out, err)

    def _reply(self, argv: list[str]) -> Reply:
        for n in range(len(argv), 0, -1):
            reply = self.replies.get(tuple(argv[:n]))
            if reply is None:
                continue
            if isinstance(reply, list):
                reply = reply.pop(0) if len(reply) > 1 else reply[0]
            if callable(reply):
                reply = reply(argv)
            return reply
        return (0, "", "")

    def commands(self, *prefix: str) -> list[list[str]]:
        """The recorded calls that start with these words."""
        return [c for c in self.calls if c[: len(prefix)] == list(prefix)]


def inspect_json(ip: str | None, network: str = "kind", running: bool = True) -> str:
    networks: dict[str, Any] = {network: {"IPAddress": ip}} if ip is not None else {}
    return json.dumps(
        [{"Name": "/x", "State": {"Running": running}, "NetworkSettings": {"Networks": networks}}]
    )
