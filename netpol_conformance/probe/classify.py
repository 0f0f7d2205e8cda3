"""Turn what curl and nslookup printed into an Outcome."""

from __future__ import annotations

import re

from netpol_conformance.probe.commands import MARKER
from netpol_conformance.probe.outcome import Observation, Outcome

# curl exit codes: https://curl.se/docs/manpage.html#EXIT (facts, not code)
CURL_CONNECTED = {0, 8, 52, 56}  # the TCP handshake completed; what followed does not matter
CURL_REFUSED = 7  # could not connect: ECONNREFUSED (a reject or nothing listening)
CURL_TIMEOUT = 28

# bind: "Address: IP"; busybox >= 1.29: the same; busybox 1.28: "Address 1: IP NAME"
_ADDRESS = re.compile(r"^Address(?:es)?(?: \d+)?:\s*([0-9a-fA-F:.]+?)(?:#\d+)?(?:\s+\S+)?\s*$")
_MISSING_TOOL = re.compile(r"nslookup: (?:command )?not found|executable file not found")
# exit 28 after the handshake: the server accepted, then sent nothing (or not all) in time
_ANSWER_TIMED_OUT = re.compile(r"Operation timed out after \d+ milliseconds with \d+ ")
_LINE = re.compile(rf"^{MARKER} (\d+) (\d+) ?(.*)$")


def classify_curl(rc: int, output: str) -> Observation:
    text = output.strip()
    if rc in CURL_CONNECTED:
        return Observation(Outcome.CONNECTED, text)
    if rc == CURL_TIMEOUT:
        if _ANSWER_TIMED_OUT.search(text):  # connected: a slow server is not a drop
            return Observation(Outcome.CONNECTED, text)
        return Observation(Outcome.TIMEOUT, text)
    if rc == CURL_REFUSED:
        return Observation(Outcome.REFUSED, text)
    return Observation(Outcome.EXEC_ERROR, f"curl exit {rc}: {text}" if text else f"curl exit {rc}")


def classify_nslookup(rc: int, output: str) -> Observation:
    """dns-ok with the first answer address, or dns-fail. Works for bind and busybox."""
    lines = [ln.strip() for ln in output.replace("|", "\n").splitlines()]
    answer = None
    seen_name = False
    for ln in lines:
        if ln.startswith("Name:"):
            seen_name = True
        elif seen_name and (m := _ADDRESS.match(ln)):
            answer = m.group(1)
            break
    if rc == 0 and answer:
        return Observation(Outcome.DNS_OK, answer)
    if rc in (126, 127) or _MISSING_TOOL.search(output):
        return Observation(Outcome.EXEC_ERROR, f"nslookup exit {rc}: {output.strip()}")
    reason = " ".join(ln for ln in lines if ln and not ln.startswith(("Server:", "Address")))
    return Observation(Outcome.DNS_FAIL, reason or f"exit {rc}")


def parse_batch(stdout: str, count: int) -> dict[int, tuple[int, str]]:
    """Index -> (exit code, output) for every result line of a batch script."""
    results: dict[int, tuple[int, str]] = {}
    for line in stdout.splitlines():
        m = _LINE.match(line.strip())
        if m and int(m.group(1)) < count:
            results[int(m.group(1))] = (int(m.group(2)), m.group(3))
    return results
