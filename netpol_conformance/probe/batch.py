"""The one shell script that runs every probe of a source pod in parallel, and its results.

Each probe runs in the background; each prints exactly one line
``NPC <nonce> <index> <exit code> <output as hex>``. The output (stdout and stderr together,
at most ``OUTPUT_LIMIT`` bytes) is hex-encoded with ``od``, so nothing a tool or a server
prints can end a line or pose as another probe's result, and the random ``nonce`` of the batch
must match. One exec therefore costs about one probe timeout, whatever the number of probes.

The TCP probes of a batch (single-URL curls with equal options) run as one curl process
(``probe.curl_group``) in the foreground while the others run in the background; once all
have ended, the group's whole output is printed as one line
``NPC <nonce> g <index,index,...> <exit code> <output as hex>`` and split per probe when read.

Only POSIX tools are used (``sh``, ``od``, ``printf``): busybox and coreutils have
them, so the script runs in the netshoot (Alpine) and Debian probe images alike.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

from netpol_conformance.probe.curl_group import group_argv, member_argvs, plan_groups, split_output

MARKER = "NPC"
# Bytes of a tool's output kept. A result line then stays under 1 KiB, which even musl's
# stdout buffer (1 KiB) writes at once, so lines of parallel probes do not interleave.
OUTPUT_LIMIT = 480
_FUNCTION = "npc"
_PRINT_GROUP = "npcp"
_GROUP = "g"
_NONCE = re.compile(r"[0-9a-f]{16}")


def _prelude(nonce: str) -> str:
    # od's words become the positional parameters, joined with an empty IFS: no `tr` process
    # per probe (the function runs in a background subshell, so IFS changes only there; the
    # group's printer runs in a subshell of its own).
    return (
        f'{_FUNCTION}() {{ i=$1; shift; o=$("$@" 2>&1); rc=$?; '
        f"set -- $(printf '%s' \"$o\" | od -An -v -tx1 -N{OUTPUT_LIMIT}); IFS=; "
        f'printf \'{MARKER} {nonce} %s %s %s\\n\' "$i" "$rc" "$*"; }}; '
        f"{_PRINT_GROUP}() ( i=$1; rc=$2; set -- $(printf '%s' \"$3\" | od -An -v -tx1); IFS=; "
        f'printf \'{MARKER} {nonce} {_GROUP} %s %s %s\\n\' "$i" "$rc" "$*" )'
    )


def _group_run(n: int, argv: Sequence[str]) -> str:
    return f"npc_g{n}=$({shlex.join(argv)} 2>&1); npc_r{n}=$?"


def _group_print(n: int, indices: Sequence[int]) -> str:
    return f'{_PRINT_GROUP} {",".join(map(str, indices))} "$npc_r{n}" "$npc_g{n}"'


def _new_nonce() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class Batch:
    """Probe command lines to run together, and the nonce their result lines carry."""

    argvs: tuple[tuple[str, ...], ...]
    nonce: str = field(default_factory=_new_nonce)
    # run the TCP probes as one curl process (``probe.curl_group``); the probes are the same
    group: bool = field(default=True, compare=False)

    @classmethod
    def of(cls, argvs: Sequence[Sequence[str]], group: bool = True) -> Batch:
        return cls(tuple(tuple(a) for a in argvs), group=group)

    @property
    def groups(self) -> list[list[int]]:
        """The indices that run together in one curl process, group by group."""
        return plan_groups(self.argvs) if self.group else []

    @property
    def script(self) -> str:
        """A POSIX sh script running every argv in parallel, one result line each (one per
        group for the grouped ones)."""
        groups = self.groups
        grouped = {i for g in groups for i in g}
        lines = [_prelude(self.nonce)]
        lines += [
            f"{_FUNCTION} {i} {shlex.join(argv)} &"
            for i, argv in enumerate(self.argvs)
            if i not in grouped
        ]
        lines += [
            _group_run(n, group_argv([self.argvs[i] for i in g])) for n, g in enumerate(groups)
        ]
        lines.append("wait")
        lines += [_group_print(n, g) for n, g in enumerate(groups)]
        return "\n".join(lines)

    def result_line(self, index: int, returncode: int, output: str) -> str:
        """The line the script prints for one probe (what a simulated cluster answers)."""
        data = output.encode()[:OUTPUT_LIMIT]
        return f"{MARKER} {self.nonce} {index} {returncode} {data.hex()}"

    def group_line(self, indices: Sequence[int], returncode: int, output: str) -> str:
        """The line the script prints for a group of probes run as one curl."""
        joined = ",".join(map(str, indices))
        return f"{MARKER} {self.nonce} {_GROUP} {joined} {returncode} {output.encode().hex()}"

    def results(self, stdout: str) -> dict[int, tuple[int, str]]:
        """Index -> (exit code, output) for every well-formed result line of this batch."""
        line_re = re.compile(rf"^{MARKER} {self.nonce} (\d+|{_GROUP} [\d,]+) (\d+) ?([0-9a-f]*)$")
        out: dict[int, tuple[int, str]] = {}
        for line in stdout.splitlines():
            m = line_re.match(line.strip())
            if not m or len(m.group(3)) % 2:
                continue
            text = bytes.fromhex(m.group(3)).decode(errors="replace")
            rc = int(m.group(2))
            if not m.group(1).startswith(_GROUP):
                index = int(m.group(1))
                if index < len(self.argvs):
                    out[index] = (rc, text)
                continue
            indices = [int(i) for i in m.group(1).split()[1].split(",") if i]
            if not indices or max(indices) >= len(self.argvs):
                continue
            urls = [self.argvs[i][-1] for i in indices]
            out.update(zip(indices, split_output(rc, text, urls), strict=True))
        return out


def parse_batch_script(script: str) -> Batch:
    """The batch a script was made from: its nonce and every probe's argv, in order.

    Raises ValueError when ``script`` is not exactly what ``Batch.script`` makes.
    """
    lines = script.split("\n")
    m = re.search(rf"'{MARKER} ({_NONCE.pattern}) ", lines[0])
    if not m or lines[0] != _prelude(m.group(1)) or "wait" not in lines:
        raise ValueError("not a probe batch script: its first line is not ours, or no wait")
    end = lines.index("wait")
    argvs: dict[int, tuple[str, ...]] = {}
    runs: list[list[list[str]]] = []
    for n, line in enumerate(lines[1:end], start=2):
        try:
            if line.startswith(f"npc_g{len(runs)}=$(") and line.endswith(
                f" 2>&1); npc_r{len(runs)}=$?"
            ):
                inner = line[len(f"npc_g{len(runs)}=$(") : -len(f" 2>&1); npc_r{len(runs)}=$?")]
                members = member_argvs(shlex.split(inner))
                if members is None:
                    raise ValueError("not a group of curls")
                runs.append(members)
                continue
            words = shlex.split(line)
        except ValueError as exc:
            raise ValueError(f"not a probe batch script: line {n}: {exc}") from None
        if len(words) < 4 or words[0] != _FUNCTION or not words[1].isdigit() or words[-1] != "&":
            raise ValueError(f"not a probe batch script: line {n} is {line!r}")
        argvs[int(words[1])] = tuple(words[2:-1])
    prints = lines[end + 1 :]
    if len(prints) != len(runs):
        raise ValueError("not a probe batch script: a group is run but not printed")
    for n, (line, members) in enumerate(zip(prints, runs, strict=True)):
        words = line.split()
        indices = [int(i) for i in words[1].split(",")] if len(words) == 4 else []
        if line != _group_print(n, indices) or len(indices) != len(members):
            raise ValueError(f"not a probe batch script: {line!r}")
        argvs.update(zip(indices, (tuple(a) for a in members), strict=True))
    if sorted(argvs) != list(range(len(argvs))):
        raise ValueError("not a probe batch script: its probes are not numbered 0, 1, ...")
    return Batch(tuple(argvs[i] for i in range(len(argvs))), m.group(1), group=bool(runs))
