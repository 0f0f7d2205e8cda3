"""Helpers for the probe tests: the real tool outputs captured in ``captured/``."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CAPTURED = Path(__file__).resolve().parent / "captured"


def read_capture(name: str) -> tuple[int, str]:
    """(exit code, output) of ``captured/<name>.txt``.

    Its first lines start with ``#>`` (the command, how the case was set up, the tool's
    version: see captured/capture.py); its last line is ``rc=N``.
    """
    lines = (CAPTURED / f"{name}.txt").read_text().splitlines()
    assert lines and lines[0].startswith("#> command: "), f"{name}: no '#> command:' header"
    while lines and lines[0].startswith("#>"):
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    last = lines.pop()
    assert last.startswith("rc="), f"{name}: the last line must be rc=N, got {last!r}"
    return int(last.removeprefix("rc=")), "\n".join(lines)


@pytest.fixture
def captured() -> Callable[[str], tuple[int, str]]:
    return read_capture


def serve_http(family: socket.AddressFamily, host: str) -> Iterator[int]:
    """A TCP server answering every connection with a minimal HTTP response; yields its port."""
    srv = socket.socket(family, socket.SOCK_STREAM)
    try:
        srv.bind((host, 0))
    except OSError as exc:
        srv.close()
        pytest.skip(f"cannot listen on {host}: {exc}")
    srv.listen(64)
    srv.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1]
    stop.set()
    thread.join()
    srv.close()


@pytest.fixture
def http_port() -> Iterator[int]:
    yield from serve_http(socket.AF_INET, "127.0.0.1")


@pytest.fixture
def http_port_v6() -> Iterator[int]:
    yield from serve_http(socket.AF_INET6, "::1")
