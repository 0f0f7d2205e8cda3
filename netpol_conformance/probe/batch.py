"""The one shell script that runs every probe of a source pod in parallel, and its results.

Each probe runs in the background; each prints exactly one line
``NPC <nonce> <index> <exit code> <output as hex>``. The output (stdout and stderr together,
at most ``OUTPUT_LIMIT`` bytes) is hex-encoded with ``od``, so nothing a tool or a server
prints can end a line or pose as another probe's result, and the random ``nonce`` of the batch
must match. One exec therefore costs about one probe timeout, whatever the number of probes.

Only POSIX tools are used (``sh``, ``od``, ``printf``): busybox and coreutils have
them, so the script runs in the netshoot (Alpine) and Debian probe images alike.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

MARKER = "NPC"
# Bytes of a tool's output kept. A result line then stays under 1 KiB, which even musl's
# stdout buffer (1 KiB) writes at once, so lines of parallel probes do not interleave.
OUTPUT_LIMIT = 480
_FUNCTION = "npc"
_NONCE = re.compile(r"[0-9a-f]{16}")


def _prelude(nonce: str) -> str:
    # od's words become the positional parameters, joined with an empty IFS: no `tr` process
    # per probe (the function runs in a background subshell, so IFS changes only there).
    return (
        f'{_FUNCTION}() {{ i=$1; shift; o=$("$@" 2>&1); rc=$?; '
        f"set -- $(printf '%s' \"$o\" | od -An -v -tx1 -N{OUTPUT_LIMIT}); IFS=; "
        f'printf \'{MARKER} {nonce} %s %s %s\\n\' "$i" "$rc" "$*"; }}'
    )


def _new_nonce() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class Batch:
    """Probe command lines to run together, and the nonce their result lines carry."""

    argvs: tuple[tuple[str, ...], ...]
    nonce: str = field(default_factory=_new_nonce)

    @classmethod
    def of(cls, argvs: Sequence[Sequence[str]]) -> Batch:
        return cls(tuple(tuple(a) for a in argvs))

    @property
    def script(self) -> str:
        """A POSIX sh script running every argv in parallel, one result line each."""
        lines = [_prelude(self.nonce)]
        lines += [f"{_FUNCTION} {i} {shlex.join(argv)} &" for i, argv in enumerate(self.argvs)]
        lines.append("wait")
        return "\n".join(lines)

    def result_line(self, index: int, returncode: int, output: str) -> str:
        """The line the script prints for one probe (what a simulated cluster answers)."""
        data = output.encode()[:OUTPUT_LIMIT]
        return f"{MARKER} {self.nonce} {index} {returncode} {data.hex()}"

    def results(self, stdout: str) -> dict[int, tuple[int, str]]:
        """Index -> (exit code, output) for every well-formed result line of this batch."""
        line_re = re.compile(rf"^{MARKER} {self.nonce} (\d+) (\d+) ?([0-9a-f]*)$")
        out: dict[int, tuple[int, str]] = {}
        for line in stdout.splitlines():
            m = line_re.match(line.strip())
            if not m or len(m.group(3)) % 2:
                continue
            index = int(m.group(1))
            if index < len(self.argvs):
                text = bytes.fromhex(m.group(3)).decode(errors="replace")
                out[index] = (int(m.group(2)), text)
        return out


def parse_batch_script(script: str) -> Batch:
    """The batch a script was made from: its nonce and every probe's argv, in order.

    Raises ValueError when ``script`` is not exactly what ``Batch.script`` makes.
    """
    lines = script.split("\n")
    m = re.search(rf"'{MARKER} ({_NONCE.pattern}) ", lines[0])
    if not m or lines[0] != _prelude(m.group(1)) or len(lines) < 2 or lines[-1] != "wait":
        raise ValueError("not a probe batch script: its first or last line is not ours")
    argvs = []
    for i, line in enumerate(lines[1:-1]):
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise ValueError(f"not a probe batch script: line {i + 2}: {exc}") from None
        if len(words) < 4 or words[:2] != [_FUNCTION, str(i)] or words[-1] != "&":
            raise ValueError(f"not a probe batch script: line {i + 2} is {line!r}")
        argvs.append(tuple(words[2:-1]))
    return Batch(tuple(argvs), m.group(1))
