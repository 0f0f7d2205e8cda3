"""Held connections: the scripts, their logs, and one real held connection over loopback."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netpol_conformance.upgrade.clock import split_uptime
from netpol_conformance.upgrade.held import (
    READ_MARK,
    START_MARK,
    STOP_MARK,
    Hold,
    holds_of,
    parse_read,
    read_script,
    start_script,
    stop_script,
)

HOLDS = (Hold("h0", "10.244.0.7", 5432, 0.5), Hold("h1", "fd00::7", 80, 0.25))


def test_every_script_names_its_holds_for_a_simulated_cluster() -> None:
    for make, mark in (
        (start_script, START_MARK),
        (read_script, READ_MARK),
        (stop_script, STOP_MARK),
    ):
        assert holds_of(make(HOLDS)) == (mark, HOLDS)
    assert holds_of("npc() { ...") is None
    assert "TCP:[fd00::7]:80,connect-timeout=5" in start_script(HOLDS)


def test_a_read_gives_every_round_trip_and_the_request_in_flight() -> None:
    text = "\n".join(
        [
            "== h0",
            "sent 1 4990.40",
            "ok 1 4990.40 4990.50",
            "sent 2 4990.90",
            "ok 2 4990.90 4991.00",
            "sent 3 4991.50",
            "closed 3 4991.70",
            "gone",
            "== h1",
            "sent 1 10.00",
            "alive",
            "== h2",
            "gone",
            "error 2026/11/25 21:28:34 socat[31379] E connect(5, AF=2 10.0.0.1:80, 16): refused",
        ]
    )
    logs = parse_read(text)
    assert logs["h0"].round_trips == ((4990.4, 4990.5), (4990.9, 4991.0))
    assert logs["h0"].closed_at == 4991.7 and not logs["h0"].alive
    assert logs["h0"].in_flight == 4991.5
    assert logs["h1"].round_trips == () and logs["h1"].alive and logs["h1"].in_flight == 10.0
    assert "connect(5" in logs["h2"].error
    shifted = logs["h0"].shifted(1_000.0, read_at=5_992.0)
    assert shifted.round_trips[0] == (5990.4, 5990.5) and shifted.in_flight == 5991.5
    assert shifted.read_at == 5992.0 and shifted.closed_at == 5991.7


class _KeepAlive(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b"netpol-conformance server\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _KeepAlive)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _sh(script: str) -> str:
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    uptime, rest = split_uptime(out)
    assert uptime is not None or not out
    return rest


@pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat (as the probe images have)")
def test_a_held_connection_answers_every_beat_and_logs_its_end(
    server: http.server.ThreadingHTTPServer, tmp_path: Path
) -> None:
    port = server.server_address[1]
    holds = [Hold("h0", "127.0.0.1", port, 0.1), Hold("h1", "127.0.0.1", 1, 0.1)]
    directory = str(tmp_path)
    _sh(start_script(holds, directory))
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            logs = parse_read(_sh(read_script(holds, directory)))
            if len(logs["h0"].round_trips) >= 3:
                break
            time.sleep(0.1)
        assert len(logs["h0"].round_trips) >= 3 and logs["h0"].alive
        assert logs["h1"].round_trips == () and not logs["h1"].alive and "socat" in logs["h1"].error
        server.shutdown()
        server.server_close()
        for connection in list(getattr(server, "_threads", []) or []):
            connection.join(1)
        _sh(stop_script(holds, directory))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            logs = parse_read(_sh(read_script(holds, directory)))
            if logs["h0"].closed_at is not None:
                break
            time.sleep(0.1)
        assert logs["h0"].closed_at is not None
        assert logs["h0"].closed_at >= logs["h0"].round_trips[-1][1]
        assert all(sent <= answered for sent, answered in logs["h0"].round_trips)
    finally:
        _sh(stop_script(holds, directory))
