"""Turn what curl, socat and nslookup printed into an Outcome.

A probe is only called blocked (timeout, refused, dns-fail) on positive evidence that the
network did it; anything a rule below does not recognise is an exec-error, never a verdict.
"""

from __future__ import annotations

import re

from netpol_conformance.probe.outcome import Observation, Outcome

# curl exit codes: https://curl.se/docs/manpage.html#EXIT (facts, not code)
CURL_CONNECTED = {0, 8, 52, 56}  # the TCP handshake completed; what followed does not matter
CURL_COULDNT_CONNECT = 7  # the socket error says why (curl -v)
CURL_TIMEOUT = 28

# Socket errors (strerror; glibc and musl spell these alike).
REFUSED_ERRORS = {"Connection refused"}  # ECONNREFUSED: TCP RST or ICMP port-unreachable
UNREACHABLE_ERRORS = {"Network is unreachable", "No route to host"}  # ENETUNREACH, EHOSTUNREACH

# curl -v: "connect to IP port N [from IP port N ]failed: ERR" (after a SYN was sent, the
# answer came back as ERR) or "Immediate connect fail for IP: ERR" (connect() itself failed).
_CURL_SOCKET_ERROR = re.compile(
    r"^\* (?:connect to \S+ port \d+ (?:from \S+ port \d+ )?failed|"
    r"Immediate connect fail for \S+): (.+?)\s*$",
    re.MULTILINE,
)
_CURL_CONNECTED = re.compile(r"^\* Connected to ", re.MULTILINE)
# exit 28 after the handshake: the server accepted, then sent nothing (or not all) in time
_ANSWER_TIMED_OUT = re.compile(r"Operation timed out after \d+ milliseconds with \d+ ")

# socat's log lines: "2024/05/15 10:00:00 socat[42] E read(5, 0x..., 8192): Connection refused"
_SOCAT_LOG = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)? socat\[\d+\] ([DINWEF]) (.*)$")

# bind: "Address: IP"; busybox >= 1.29: the same; busybox 1.28: "Address 1: IP NAME"
_ADDRESS = re.compile(r"^Address(?:es)?(?: \d+)?:\s*([0-9a-fA-F:.]+?)(?:#\d+)?(?:\s+\S+)?\s*$")
# The tool did not run as asked: not in the image, bad arguments, or the exec transport failed.
_NSLOOKUP_BROKEN = re.compile(
    r"nslookup: (?:command )?not found|executable file not found|Invalid option|"
    r"unrecognized option|invalid option|Usage: nslookup|unable to upgrade connection"
)
# A server answered, and the answer was no (bind and busybox spell these alike).
_DNS_NEGATIVE = re.compile(
    r"server can't find \S+: (NXDOMAIN|SERVFAIL|REFUSED|NOTIMP|FORMERR)|"
    r"Can't find \S+: (No answer)|Got (SERVFAIL|REFUSED) reply"
)
# bind: "UDP setup with IP#53(IP) for NAME failed: network unreachable." / "host unreachable."
# busybox: "nslookup: can't connect to remote host (IP): Network is unreachable"
_DNS_UNREACHABLE = re.compile(
    r"failed: (network unreachable|host unreachable)\.?$|"
    r"can't connect to remote host \(\S+\): (Network is unreachable|No route to host)$",
    re.MULTILINE,
)
# bind: ";; communications error to IP#53: timed out" / "...: connection refused", then
# ";; no servers could be reached"; busybox: ";; connection timed out; no servers could be reached"
_DNS_NO_SERVER = re.compile(r"no servers could be reached")


def _exec_error(tool: str, rc: int, text: str) -> Observation:
    return Observation(
        Outcome.EXEC_ERROR, f"{tool} exit {rc}: {text}" if text else f"{tool} exit {rc}"
    )


def classify_curl(rc: int, output: str) -> Observation:
    text = output.strip()
    last = text.splitlines()[-1] if text else ""
    if rc in CURL_CONNECTED:
        return Observation(Outcome.CONNECTED, last)
    if rc == CURL_TIMEOUT:
        if _CURL_CONNECTED.search(text) or _ANSWER_TIMED_OUT.search(text):
            return Observation(Outcome.CONNECTED, last)  # a slow server is not a drop
        return Observation(Outcome.TIMEOUT, last)
    if rc == CURL_COULDNT_CONNECT:
        m = _CURL_SOCKET_ERROR.search(text)
        reason = m.group(1) if m else ""
        if reason in REFUSED_ERRORS:
            return Observation(Outcome.REFUSED, reason)
        if reason in UNREACHABLE_ERRORS:
            return Observation(Outcome.UNREACHABLE, reason)
        why = f"could not connect: {reason}" if reason else "could not connect, reason not shown"
        return Observation(Outcome.EXEC_ERROR, f"curl exit 7, {why}: {last}")
    return _exec_error("curl", rc, text)


def classify_udp(rc: int, output: str) -> Observation:
    """socat on a connected UDP socket: a reply, ECONNREFUSED, or silence until its timeout."""
    reply: list[str] = []
    errors: list[str] = []
    for line in output.splitlines():
        if m := _SOCAT_LOG.match(line.strip()):
            if m.group(1) in "EF":
                errors.append(m.group(2))
        elif line.strip():
            reply.append(line.strip())
    if rc == 0 and not errors:
        if reply:
            return Observation(Outcome.CONNECTED, " ".join(reply)[:200])
        return Observation(Outcome.TIMEOUT, "no reply")
    if rc == 1 and errors:
        reason = errors[0].rpartition(": ")[2]
        if reason in REFUSED_ERRORS:
            return Observation(Outcome.REFUSED, errors[0])
        if reason in UNREACHABLE_ERRORS:
            return Observation(Outcome.UNREACHABLE, errors[0])
    return _exec_error("socat", rc, output.strip())


def classify_nslookup(rc: int, output: str) -> Observation:
    """dns-ok with the first answer address; otherwise what the evidence shows.

    Works for bind's and busybox's nslookup. Exit 0 and 1 are the tools' own; anything else
    (127 not found, 137/143 killed, ...) means the probe did not run to its end.
    """
    lines = [ln.strip() for ln in output.splitlines()]
    answer = None
    seen_name = False
    for ln in lines:
        if ln.startswith("Name:"):
            seen_name = True
        elif seen_name and (m := _ADDRESS.match(ln)):
            answer = m.group(1)
            break
    text = output.strip()
    if rc not in (0, 1) or _NSLOOKUP_BROKEN.search(text):
        return _exec_error("nslookup", rc, text)
    if answer:
        return Observation(Outcome.DNS_OK, answer)
    if m := _DNS_NEGATIVE.search(text):
        return Observation(Outcome.DNS_NEGATIVE, next(g for g in m.groups() if g))
    if m := _DNS_UNREACHABLE.search(text):
        return Observation(Outcome.UNREACHABLE, next(g for g in m.groups() if g))
    if rc == 1 and _DNS_NO_SERVER.search(text):
        reason = " ".join(ln for ln in lines if ln)
        return Observation(Outcome.DNS_FAIL, reason)
    if rc == 0 and any(ln.startswith("Server:") for ln in lines):
        return Observation(Outcome.DNS_NEGATIVE, "no answer")  # busybox prints nothing more
    return _exec_error("nslookup", rc, text)
