"""A source pod's TCP probes run as one curl process, and each probe reads exactly as it does
when its curl runs alone: real curl against real sockets on loopback, and curl's own captured
outputs joined and split again."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from netpol_conformance.probe.batch import Batch, parse_batch_script
from netpol_conformance.probe.classify import classify_curl
from netpol_conformance.probe.commands import ProbeSettings, curl_argv, udp_argv
from netpol_conformance.probe.curl_group import (
    group_argv,
    joined_output,
    member_argvs,
    plan_groups,
    split_output,
)
from netpol_conformance.probe.outcome import Outcome

CAPTURED = Path(__file__).resolve().parent / "captured"
SETTINGS = ProbeSettings(timeout=1)

needs_curl = pytest.mark.skipif(not shutil.which("curl"), reason="no curl on this machine")


def _serve(srv: socket.socket, answer: bytes | None) -> None:
    held = []
    while True:
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        if answer is None:
            held.append(conn)  # the handshake completed; nothing is ever said
            continue
        with conn:
            conn.recv(4096)
            conn.sendall(answer)


@pytest.fixture
def ports() -> Iterator[dict[str, int]]:
    """Loopback ports, one behaviour each: an HTTP answer, a handshake and then silence, a
    handshake and then a close, a full accept queue (SYNs are dropped: a real timeout), and
    a port nobody listens on (refused)."""
    sockets = []

    def listener(backlog: int = 16) -> socket.socket:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(backlog)
        sockets.append(s)
        return s

    out = {}
    for name, answer in (("http", b"HTTP/1.0 200 OK\r\n\r\nok"), ("silent", None), ("empty", b"")):
        s = listener()
        threading.Thread(target=_serve, args=(s, answer), daemon=True).start()
        out[name] = s.getsockname()[1]
    full = listener(0)
    out["dropped"] = full.getsockname()[1]
    for _ in range(3):  # fill the accept queue: later SYNs get no answer
        c = socket.socket()
        c.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            c.connect(("127.0.0.1", out["dropped"]))
        sockets.append(c)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    out["refused"] = closed.getsockname()[1]
    closed.close()
    yield out
    for s in sockets:
        s.close()


def _run(batch: Batch) -> dict[int, tuple[int, str]]:
    result = subprocess.run(
        ["sh", "-c", batch.script], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    return batch.results(result.stdout)


EXPECTED = {
    "http": Outcome.CONNECTED,
    "silent": Outcome.CONNECTED,  # exit 28 after "Connected to": a slow server, not a drop
    "empty": Outcome.CONNECTED,  # exit 52
    "dropped": Outcome.TIMEOUT,
    "refused": Outcome.REFUSED,
}


@needs_curl
def test_grouped_probes_read_as_each_curl_alone(ports: dict[str, int]) -> None:
    names = list(EXPECTED)
    argvs = [curl_argv("127.0.0.1", ports[n], SETTINGS) for n in names]
    argvs.append(udp_argv("127.0.0.1", ports["refused"], SETTINGS))  # runs beside the group
    argvs.append(curl_argv("127.0.0.1", ports["http"], SETTINGS))  # same URL: runs alone
    grouped = Batch.of(argvs)
    assert grouped.groups == [list(range(len(names)))]
    assert grouped.script.count("curl ") == 2  # the group's process and the repeated URL's

    together = _run(grouped)
    alone = _run(Batch.of(argvs, group=False))
    assert sorted(together) == sorted(alone) == list(range(len(argvs)))
    for i, name in enumerate(names):
        seen = classify_curl(*together[i])
        assert seen.outcome is EXPECTED[name], (name, together[i])
        assert seen.outcome is classify_curl(*alone[i]).outcome, (name, together[i])
        assert together[i][0] == alone[i][0], name
    assert classify_curl(*together[len(argvs) - 1]).outcome is Outcome.CONNECTED
    # each probe's lines are its own: no other port shows in them
    for i, name in enumerate(names):
        others = [str(ports[n]) for n in names if n != name]
        assert not any(f":{p}" in together[i][1] or f"port {p}" in together[i][1] for p in others)


@needs_curl
def test_a_curl_that_fails_as_a_whole_fails_every_probe_it_carries() -> None:
    """An option this curl lacks (an old release): every grouped probe is an exec error with
    curl's own message, never a verdict."""
    argvs = [curl_argv("127.0.0.1", p, SETTINGS) for p in (1, 2)]
    batch = Batch.of(argvs)
    script = batch.script.replace("--parallel-immediate", "--no-such-option-npc")
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    results = batch.results(result.stdout)
    for i in range(2):
        rc, text = results[i]
        assert rc == 2 and "no-such-option-npc" in text
        assert classify_curl(rc, text).outcome is Outcome.EXEC_ERROR


def _captured(name: str) -> tuple[str, int, str]:
    lines = (CAPTURED / f"{name}.txt").read_text().splitlines()
    url = lines[0].split()[-1]
    body = [ln for ln in lines if not ln.startswith("#>")]
    return url, int(body[-1].removeprefix("rc=")), "\n".join(body[:-1])


def test_captured_outputs_joined_and_split_read_as_before() -> None:
    """curl's real outputs for every outcome, joined as one parallel curl prints them, read
    back per URL: the same outcome as each output read alone, and for a failure the same
    detail."""
    names = [
        p.stem for p in sorted(CAPTURED.glob("curl-*.txt")) if p.stem not in ("curl-unresolvable",)
    ]
    transfers = {}
    for name in names:
        url, rc, text = _captured(name)
        transfers.setdefault(url, (url, rc, text))  # one transfer per URL, as in a group
    assert len(transfers) >= 6
    joined = joined_output(list(transfers.values()))
    split = split_output(0, joined, list(transfers))
    for (url, rc, text), (rc2, text2) in zip(transfers.values(), split, strict=True):
        assert rc2 == rc, url
        seen, alone = classify_curl(rc2, text2), classify_curl(rc, text)
        assert seen.outcome is alone.outcome, (url, text2)
        # the detail of a failure is the same line; a connected one shows "Connected to ..."
        if seen.outcome is not Outcome.CONNECTED:
            assert seen.detail == alone.detail, (url, text2)


def test_lines_are_told_apart_by_whole_address_and_port() -> None:
    output = "\n".join(
        [
            "*   Trying 10.0.0.1:80...",
            "*   Trying 10.0.0.10:80...",
            "*   Trying 10.0.0.1:8080...",
            "* connect to 10.0.0.10 port 80 failed: Connection refused",
            "* connect to 10.0.0.1 port 8080 from 10.0.0.5 port 40000 failed: No route to host",
            "curl: (7) Failed to connect to 10.0.0.10 port 80 after 0 ms: Couldn't connect",
            "NPC-W 7 http://10.0.0.10:80/",
            "* Connected to 10.0.0.1 (10.0.0.1) port 80",
            "NPC-W 0 http://10.0.0.1:80/",
            "curl: (7) Failed to connect to 10.0.0.1 port 8080 after 0 ms: Couldn't connect",
            "NPC-W 7 http://10.0.0.1:8080/",
        ]
    )
    urls = ["http://10.0.0.1:80/", "http://10.0.0.10:80/", "http://10.0.0.1:8080/"]
    got = [classify_curl(*r).outcome for r in split_output(7, output, urls)]
    assert got == [Outcome.CONNECTED, Outcome.REFUSED, Outcome.UNREACHABLE]


def test_an_address_without_a_port_goes_to_every_transfer_of_that_address() -> None:
    output = "\n".join(
        [
            "* Immediate connect fail for fd00::7: Network is unreachable",
            "NPC-W 7 http://[fd00::7]:80/",
            "NPC-W 7 http://[fd00::7]:81/",
        ]
    )
    urls = ["http://[fd00::7]:80/", "http://[fd00::7]:81/", "http://[fd00::8]:80/"]
    results = split_output(7, output, urls)
    assert [classify_curl(*r).outcome for r in results[:2]] == [Outcome.UNREACHABLE] * 2
    assert results[2] == (7, output)  # no line of its own: the whole command's


def test_the_group_command_round_trips_and_keeps_the_probes_options() -> None:
    argvs = [curl_argv(a, p, SETTINGS) for a, p in (("10.0.0.1", 80), ("fd00::7", 81))]
    joined = group_argv(argvs)
    assert member_argvs(joined) == argvs
    assert joined[0] == "curl" and "-Z" in joined and joined.count("/dev/null") == 2
    assert member_argvs(argvs[0]) is None
    assert member_argvs(joined[:-1]) is None


def test_only_equal_options_and_different_urls_are_grouped() -> None:
    slow = ProbeSettings(timeout=5)
    argvs = [
        curl_argv("10.0.0.1", 80, SETTINGS),
        curl_argv("10.0.0.2", 80, SETTINGS),
        curl_argv("10.0.0.1", 80, SETTINGS),  # a repeat
        curl_argv("10.0.0.3", 80, slow),  # other options, alone in its kind
        ["curl", "-sS", "http://10.0.0.4/"],  # writes its body: not a probe's curl
        udp_argv("10.0.0.1", 80, SETTINGS),
    ]
    assert plan_groups(argvs) == [[0, 1]]
    batch = Batch.of(argvs)
    assert parse_batch_script(batch.script).argvs == batch.argvs
    assert Batch.of(argvs, group=False).groups == []
