"""Turn what curl, socat and dig printed into an Outcome.

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
TIMED_OUT_ERRORS = {"Connection timed out"}  # ETIMEDOUT: socat's connect-timeout ran out
# socket() itself failed because the kernel has no such protocol (no SCTP module):
# EPROTONOSUPPORT, EAFNOSUPPORT, ESOCKTNOSUPPORT.
NO_PROTOCOL_ERRORS = {
    "Protocol not supported",
    "Address family not supported by protocol",
    "Socket type not supported",
}

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

# dig: ";; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 59334"
_DIG_STATUS = re.compile(r"->>HEADER<<- opcode: \S+, status: ([A-Z]+),")
# dig's answer section: "kubernetes.default.svc.cluster.local. 5 IN A 10.96.0.1"
_DIG_ADDRESS = re.compile(r"^\S+\s+\d+\s+IN\s+(?:A|AAAA)\s+([0-9a-fA-F:.]+)\s*$", re.MULTILINE)
# dig exit 9 (no reply): ";; communications error to IP#53: timed out" or "... connection
# refused" (UDP), ";; Connection to IP#53(IP) for NAME failed: timed out." (TCP): the
# network dropped or rejected the query.
_DIG_NO_REPLY = re.compile(
    r"^;; (?:communications error to \S+|Connection to \S+ for \S+ failed): "
    r"(timed out|connection refused)\.?$",
    re.MULTILINE,
)
# "...failed: network unreachable." / "host unreachable.": no path at all.
_DIG_UNREACHABLE = re.compile(r"failed: (network unreachable|host unreachable)\.?$", re.MULTILINE)
DIG_NO_REPLY = 9  # dig's exit code when no server answered


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


def _socat_lines(output: str) -> tuple[list[str], list[str]]:
    """What socat copied from the peer, and the messages of its errors (E) and fatal errors
    (F), each line stripped; its other log lines are dropped."""
    data: list[str] = []
    errors: list[str] = []
    for line in output.splitlines():
        if m := _SOCAT_LOG.match(line.strip()):
            if m.group(1) in "EF":
                errors.append(m.group(2))
        elif line.strip():
            data.append(line.strip())
    return data, errors


def classify_udp(rc: int, output: str) -> Observation:
    """socat on a connected UDP socket: a reply, ECONNREFUSED, or silence until its timeout."""
    reply, errors = _socat_lines(output)
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


def classify_sctp(rc: int, output: str) -> Observation:
    """socat opening an SCTP association and reading the server's one-line greeting.

    Exit 0 with the greeting: the association was set up (the policies let it through). Exit 1
    with socat's error: "connecting to ...: Connection timed out" (dropped), "connect(...):
    Connection refused" (an ABORT: rejected, or nothing listening), "socket(...): Protocol not
    supported" (the node's kernel cannot carry SCTP: unsupported, never a verdict).
    """
    greeting, errors = _socat_lines(output)
    if rc == 0 and not errors and greeting:
        return Observation(Outcome.CONNECTED, " ".join(greeting)[:200])
    if rc == 1 and errors:
        call, _, reason = errors[0].rpartition(": ")
        if reason in NO_PROTOCOL_ERRORS and call.startswith("socket("):
            return Observation(Outcome.UNSUPPORTED, errors[0])
        if reason in TIMED_OUT_ERRORS and call.startswith("connecting to "):
            return Observation(Outcome.TIMEOUT, errors[0])
        if reason in REFUSED_ERRORS:
            return Observation(Outcome.REFUSED, errors[0])
        if reason in UNREACHABLE_ERRORS:
            return Observation(Outcome.UNREACHABLE, errors[0])
    if rc == 0 and not errors:  # set up, then nothing before -T: the server did not greet
        return Observation(Outcome.EXEC_ERROR, "socat exit 0: associated, but no greeting")
    return _exec_error("socat", rc, output.strip())


def classify_dig(rc: int, output: str) -> Observation:
    """dns-ok with the first answer address; otherwise what the evidence shows.

    dig exits 0 whenever a server answered (whatever the answer said) and 9 when none did;
    anything else (1 bad arguments, 10 internal error, 127 not found, 137/143 killed) means
    the probe did not run to its end. A failure to bind its source port ("address in use")
    is the probe's own, never a verdict.
    """
    text = output.strip()
    if rc == 0 and (m := _DIG_STATUS.search(text)):
        status = m.group(1)
        if status != "NOERROR":
            return Observation(Outcome.DNS_NEGATIVE, status)
        if a := _DIG_ADDRESS.search(text):
            return Observation(Outcome.DNS_OK, a.group(1))
        return Observation(Outcome.DNS_NEGATIVE, "no answer")
    if rc == DIG_NO_REPLY:
        if m := _DIG_UNREACHABLE.search(text):
            return Observation(Outcome.UNREACHABLE, m.group(1))
        if _DIG_NO_REPLY.search(text):
            return Observation(Outcome.DNS_FAIL, " ".join(ln.strip() for ln in text.splitlines()))
    return _exec_error("dig", rc, text)
