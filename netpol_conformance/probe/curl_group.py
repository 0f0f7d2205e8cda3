"""Many TCP probes of one source pod in one curl process, and each probe's result out of it.

A curl process costs about 13 ms of CPU to start (its libraries), more than its connection.
A poll of the catalogue starts 288 of them, about 5 CPU-seconds on a 2-core node: the poll
then takes seconds, and a curl waiting for a CPU can miss its own 2 s connect timeout (a
false "timeout"). curl's parallel mode (``-Z``) runs every transfer of one command line
concurrently, each with its own connection and its own timeouts, so one process serves all
the TCP probes of a source pod.

The probe a person types stays the single-URL command (``commands.curl_argv``); this module
only joins such command lines and splits the joined output back:

- ``-w '%{stderr}NPC-W <exit code> <url>'`` prints each transfer's exit code when it ends;
- the verbose lines a probe is classified by name the transfer's address and port
  ("connect to IP port N failed: ...", "Connected to H (IP) port N"), or its address alone
  ("Immediate connect fail for IP: ..."); curl's closing "curl: (N) ..." line of a transfer
  comes just before its ``-w`` line.

Each URL appears once in a group: a second transfer to the same address and port could ride
the first one's connection and never make a handshake of its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import zip_longest
from urllib.parse import urlsplit

DONE = "NPC-W"
_OUTPUT = ("-o", "/dev/null")
_MAX_GROUP = 256  # curl allows at most 300 parallel transfers
_WRITE_OUT = "%{stderr}" + DONE + " %{exitcode} %{url}\\n"
_DONE_LINE = re.compile(rf"^{DONE} (\d+) (\S+)\s*$")
_ERROR_LINE = re.compile(r"^curl: \(\d+\) ")
_IMMEDIATE = re.compile(r"^\* Immediate connect fail for (\S+): ")


def _extras(n: int) -> list[str]:
    return [
        "--no-progress-meter",
        "-Z",
        "--parallel-immediate",
        "--parallel-max",
        str(n),
        "-w",
        _WRITE_OUT,
    ]


def groupable(argv: Sequence[str]) -> tuple[tuple[str, ...], str] | None:
    """(the options, the URL) of a single-URL curl that writes its body to /dev/null, else
    None. Command lines with equal options can run in one group."""
    if len(argv) < 4 or argv[0] != "curl" or not argv[-1].startswith("http://"):
        return None
    opts = tuple(argv[1:-1])
    if any(o.startswith("http://") or o in ("-Z", "--parallel", "-w") for o in opts):
        return None
    pairs = [i for i in range(len(opts) - 1) if opts[i : i + 2] == _OUTPUT]
    return (opts, argv[-1]) if len(pairs) == 1 else None


def plan_groups(argvs: Sequence[Sequence[str]]) -> list[list[int]]:
    """Indices of ``argvs`` to run as groups: command lines of equal options and different
    URLs, at least two, at most ``_MAX_GROUP``. Every other index runs on its own."""
    by_opts: dict[tuple[str, ...], list[int]] = {}
    seen: set[tuple[tuple[str, ...], str]] = set()
    for i, argv in enumerate(argvs):
        key = groupable(argv)
        if key is None or key in seen:
            continue
        seen.add(key)
        by_opts.setdefault(key[0], []).append(i)
    groups = []
    for indices in by_opts.values():
        for start in range(0, len(indices), _MAX_GROUP):
            chunk = indices[start : start + _MAX_GROUP]
            if len(chunk) > 1:
                groups.append(chunk)
    return groups


def group_argv(argvs: Sequence[Sequence[str]]) -> list[str]:
    """One curl command line running every one of ``argvs`` (all ``groupable``, with equal
    options) in parallel."""
    opts, _ = groupable(argvs[0]) or ((), "")
    k = next(i for i in range(len(opts) - 1) if opts[i : i + 2] == _OUTPUT)
    out = ["curl", *opts[:k], *_extras(len(argvs)), *opts[k + 2 :]]
    for argv in argvs:
        out += [*_OUTPUT, argv[-1]]
    return out


def member_argvs(argv: Sequence[str]) -> list[list[str]] | None:
    """The single-URL command lines ``group_argv`` joined, or None when ``argv`` is not one."""
    words = list(argv)
    if not words or words[0] != "curl" or "--parallel-max" not in words:
        return None
    k = words.index("--parallel-max") - 3
    urls: list[str] = []
    while len(words) >= 3 and words[-3:-1] == list(_OUTPUT):
        urls.insert(0, words[-1])
        del words[-3:]
    if k < 1 or not urls or words[k : k + 7] != _extras(len(urls)):
        return None
    opts = [*words[1:k], *_OUTPUT, *words[k + 7 :]]
    return [["curl", *opts, url] for url in urls]


def _address_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 80


def _mentioned(line: str) -> set[tuple[str, str]]:
    """The (address, port) pairs a verbose line is about: a word ``A:P...`` or ``[A]:P...``
    (trying to connect), or ``A`` followed by ``port P`` (connected, or failed to)."""
    words = line.replace("(", " ").replace(")", " ").split()
    out = set()
    for i, w in enumerate(words):
        if w.endswith("...") and ":" in w:
            host, _, port = w[:-3].rpartition(":")
            if host.startswith("[") and host.endswith("]"):
                host = host[1:-1]
            out.add((host, port))
        if words[i + 1 : i + 2] == ["port"] and i + 2 < len(words):
            out.add((w, words[i + 2]))
    return out


def split_output(rc: int, output: str, urls: Sequence[str]) -> list[tuple[int, str]]:
    """Each URL's (exit code, its own lines of the output), in order. A URL without a line
    of its own gets the whole command's exit code and output: curl failed as a whole."""
    lines = output.splitlines()
    # each line read once, whatever the number of transfers: a poll's groups are a hot path
    mentioned = [_mentioned(line) for line in lines]
    immediate = [m.group(1) if (m := _IMMEDIATE.match(line)) else None for line in lines]
    done: dict[str, tuple[int, int]] = {}  # url -> (exit code, index of its -w line)
    for n, line in enumerate(lines):
        if m := _DONE_LINE.match(line.strip()):
            done.setdefault(m.group(2), (int(m.group(1)), n))
    results = []
    for url in urls:
        if url not in done:
            results.append((rc, output))
            continue
        code, at = done[url]
        address, port = _address_port(url)
        key = (address, str(port))
        own = [
            line
            for n, line in enumerate(lines[:at])
            if (n == at - 1 and _ERROR_LINE.match(line))
            or immediate[n] == address
            or key in mentioned[n]
        ]
        results.append((code, "\n".join(own)))
    return results


def joined_output(transfers: Sequence[tuple[str, int, str]]) -> str:
    """What one curl -Z prints for transfers of (url, exit code, what its single-URL curl
    printed): the verbose lines of all, interleaved as parallel transfers print them, then
    each transfer's closing "curl: (N)" line just before its ``-w`` line. A simulated
    cluster answers a group with it."""
    verbose: list[list[str]] = []
    closing: list[list[str]] = []
    for _, _, output in transfers:
        lines = output.splitlines()
        last = lines[-1:] if lines and _ERROR_LINE.match(lines[-1]) else []
        verbose.append(lines[: len(lines) - len(last)])
        closing.append(last)
    out = [line for row in zip_longest(*verbose) for line in row if line is not None]
    for (url, code, _), last in zip(transfers, closing, strict=True):
        out += [*last, f"{DONE} {code} {url}"]
    return "\n".join(out)
