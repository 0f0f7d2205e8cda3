"""Classification of real curl, socat and dig outputs (tests/probe/captured) into Outcomes.

Every captured file is in EXPECTED: a new capture must say what it proves.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from netpol_conformance.probe.batch import OUTPUT_LIMIT
from netpol_conformance.probe.classify import (
    classify_curl,
    classify_dig,
    classify_sctp,
    classify_udp,
)
from netpol_conformance.probe.outcome import NOT_A_VERDICT, Observation, Outcome, verdict_of

Captured = Callable[[str], tuple[int, str]]
C = Outcome
CAPTURED = Path(__file__).resolve().parent / "captured"

EXPECTED: dict[str, Outcome] = {
    # curl: only ECONNREFUSED is a refusal; a routing failure is not a reject
    "curl-connected": C.CONNECTED,
    "curl-empty-reply": C.CONNECTED,  # handshake done; the server said nothing
    "curl-connected-no-answer": C.CONNECTED,  # exit 28, but after the handshake
    "curl-dropped": C.TIMEOUT,
    "curl-rejected": C.REFUSED,
    "curl-not-listening": C.REFUSED,
    "curl-net-unreachable": C.UNREACHABLE,
    "curl-no-route": C.UNREACHABLE,
    "curl-admin-prohibited": C.UNREACHABLE,  # EHOSTUNREACH: indistinguishable from no route
    "curl-unresolvable": C.EXEC_ERROR,
    # socat on a connected UDP socket
    "udp-reply": C.CONNECTED,
    "udp-dropped": C.TIMEOUT,
    "udp-rejected": C.REFUSED,
    "udp-not-listening": C.REFUSED,
    "udp-net-unreachable": C.UNREACHABLE,
    "udp-no-route": C.UNREACHABLE,
    "udp-admin-prohibited": C.UNREACHABLE,
    "udp-missing": C.EXEC_ERROR,
    "udp-source-port-in-use": C.EXEC_ERROR,  # the probe's own bind failed: no packet went out
    # socat opening an SCTP association: the one real SCTP capture is a kernel without SCTP
    # (this machine's); the others are socat's same connect path over TCP (sctp-shape-*)
    "sctp-no-kernel": C.UNSUPPORTED,  # socket() failed: not a verdict, the probes are skipped
    "sctp-shape-greeting": C.CONNECTED,
    "sctp-shape-dropped": C.TIMEOUT,
    "sctp-shape-not-listening": C.REFUSED,
    "sctp-shape-net-unreachable": C.UNREACHABLE,
    # the real local cluster (kube-router rejects), through kubectl exec
    "cluster-kube-router-open-udp-5432": C.CONNECTED,
    "cluster-kube-router-open-udp-53": C.CONNECTED,
    "cluster-kube-router-open-tcp-53": C.CONNECTED,
    "cluster-kube-router-open-tcp-80": C.CONNECTED,
    "cluster-kube-router-open-dns": C.DNS_OK,
    "cluster-kube-router-denied-udp-5432": C.REFUSED,
    "cluster-kube-router-denied-udp-53": C.REFUSED,
    "cluster-kube-router-denied-tcp-53": C.REFUSED,
    "cluster-kube-router-denied-tcp-80": C.REFUSED,
    "cluster-kube-router-exec-container-gone": C.EXEC_ERROR,  # "unable to upgrade connection"
}
EXPECTED |= {
    "dig-answer": C.DNS_OK,
    # a server was reached and said no: the network let the query through
    "dig-nxdomain": C.DNS_NEGATIVE,
    "dig-servfail": C.DNS_NEGATIVE,
    "dig-refused": C.DNS_NEGATIVE,
    "dig-nodata": C.DNS_NEGATIVE,
    # no server could be reached: the only DNS outcome that is "blocked"
    "dig-dropped": C.DNS_FAIL,
    "dig-not-listening": C.DNS_FAIL,  # ICMP port-unreachable: a reject
    "dig-net-unreachable": C.UNREACHABLE,
    # over TCP: a drop times the connection out, a reset refuses it
    "dig-tcp-answer": C.DNS_OK,
    "dig-tcp-dropped": C.DNS_FAIL,
    "dig-tcp-not-listening": C.DNS_FAIL,
    "dig-no-route": C.UNREACHABLE,
    # the tool did not run as asked
    "dig-invalid-option": C.EXEC_ERROR,
    "dig-killed": C.EXEC_ERROR,
    "dig-terminated": C.EXEC_ERROR,
    "dig-source-port-in-use": C.EXEC_ERROR,
    "dig-missing": C.EXEC_ERROR,
}


def classify(name: str, rc: int, output: str) -> Observation:
    kind = name.removeprefix("cluster-kube-router-").removeprefix("open-").removeprefix("denied-")
    if kind.startswith(("curl-", "tcp-")):
        return classify_curl(rc, output)
    if kind.startswith("udp-"):
        return classify_udp(rc, output)
    if kind.startswith("sctp-"):
        return classify_sctp(rc, output)
    return classify_dig(rc, output)


def test_every_capture_has_an_expected_outcome() -> None:
    assert sorted(EXPECTED) == sorted(p.stem for p in CAPTURED.glob("*.txt"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_capture(captured: Captured, name: str) -> None:
    rc, output = captured(name)
    observed = classify(name, rc, output)
    assert observed.outcome is EXPECTED[name], observed
    if observed.outcome is not Outcome.CONNECTED:
        assert observed.detail, "every non-success says why"


def test_every_outcome_is_proved_by_a_capture() -> None:
    assert set(EXPECTED.values()) == set(Outcome)


# --- curl --------------------------------------------------------------------------------------


def test_curl_exit_7_is_one_code_for_four_reasons(captured: Captured) -> None:
    """curl's own message is the same; the socket error in its verbose log tells them apart."""
    cases = ["curl-rejected", "curl-net-unreachable", "curl-no-route", "curl-admin-prohibited"]
    for name in cases:
        rc, output = captured(name)
        assert rc == 7
        assert output.splitlines()[-1].endswith("Couldn't connect to server")
    details = {classify_curl(*captured(n)).detail for n in cases}
    assert details == {"Connection refused", "Network is unreachable", "No route to host"}


def test_curl_unreachable_names_the_socket_error(captured: Captured) -> None:
    net = classify_curl(*captured("curl-net-unreachable"))
    host = classify_curl(*captured("curl-no-route"))
    assert (net.outcome, net.detail) == (Outcome.UNREACHABLE, "Network is unreachable")
    assert (host.outcome, host.detail) == (Outcome.UNREACHABLE, "No route to host")
    assert str(net) == "unreachable(Network is unreachable)"


def test_curl_exit_7_without_the_reason_is_not_a_refusal() -> None:
    """Without -v's socket error, exit 7 could be a reject or a routing failure: no verdict."""
    quiet = "curl: (7) Failed to connect to 10.0.0.1 port 80 after 0 ms: Couldn't connect to server"
    obs = classify_curl(7, quiet)
    assert obs.outcome is Outcome.EXEC_ERROR
    assert "reason not shown" in obs.detail


def test_curl_exit_7_other_socket_errors_are_exec_errors() -> None:
    output = (
        "*   Trying 10.79.0.1:80...\n"
        "* Immediate connect fail for 10.79.0.1: Permission denied\n"
        "curl: (7) Failed to connect to 10.79.0.1 port 80 after 0 ms: Couldn't connect to server"
    )
    obs = classify_curl(7, output)
    assert obs.outcome is Outcome.EXEC_ERROR
    assert "Permission denied" in obs.detail


def test_curl_8_x_verbose_lines_are_read_too() -> None:
    """curl 8 (netshoot) adds the local address: "connect to A port P from B port Q failed"."""
    refused = (
        "*   Trying 10.244.0.7:80...\n"
        "* connect to 10.244.0.7 port 80 from 10.244.0.5 port 41234 failed: Connection refused\n"
        "* Failed to connect to 10.244.0.7 port 80 after 1 ms: Couldn't connect to server\n"
        "curl: (7) Failed to connect to 10.244.0.7 port 80 after 1 ms: Couldn't connect to server"
    )
    assert classify_curl(7, refused).outcome is Outcome.REFUSED
    unreachable = refused.replace("Connection refused", "No route to host")
    assert classify_curl(7, unreachable).outcome is Outcome.UNREACHABLE


def test_timeout_before_and_after_the_handshake(captured: Captured) -> None:
    """Both exit 28; only the one that never connected is evidence of a drop."""
    assert captured("curl-dropped")[0] == captured("curl-connected-no-answer")[0] == 28
    dropped = classify_curl(*captured("curl-dropped"))
    assert dropped.outcome is Outcome.TIMEOUT
    assert re.search(r"Connection timed out after \d+ milliseconds", dropped.detail)
    assert classify_curl(*captured("curl-connected-no-answer")).outcome is Outcome.CONNECTED


def test_reject_and_not_listening_look_the_same(captured: Captured) -> None:
    """Why a refusal needs a control probe: curl cannot tell a reject from a closed port."""
    rejected = classify_curl(*captured("curl-rejected"))
    closed = classify_curl(*captured("curl-not-listening"))
    assert rejected == closed == Observation(Outcome.REFUSED, "Connection refused")


@pytest.mark.parametrize(
    ("rc", "output"),
    [
        (1, 'curl: (1) Protocol "htp" not supported'),
        (3, "curl: (3) URL using bad/illegal format or missing URL"),
        (35, "curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL"),
        (126, "sh: curl: Permission denied"),
        (127, "sh: curl: not found"),
        (137, ""),  # killed
        (-1, ""),
    ],
)
def test_unknown_curl_exit_codes_are_exec_errors(rc: int, output: str) -> None:
    obs = classify_curl(rc, output)
    assert obs.outcome is Outcome.EXEC_ERROR
    assert f"curl exit {rc}" in obs.detail
    assert str(obs).startswith("exec-error(")


# --- sctp --------------------------------------------------------------------------------------


def test_a_kernel_without_sctp_is_neither_allowed_nor_denied(captured: Captured) -> None:
    """socket() itself failed: no packet went out, so nothing is known of any policy."""
    obs = classify_sctp(*captured("sctp-no-kernel"))
    assert obs.outcome is Outcome.UNSUPPORTED
    assert obs.detail.endswith("socket(2, 1, 132): Protocol not supported")
    assert verdict_of(obs.outcome) is None and obs.outcome in NOT_A_VERDICT


@pytest.mark.parametrize(
    "reason", ["Address family not supported by protocol", "Socket type not supported"]
)
def test_other_socket_failures_of_a_missing_protocol_are_unsupported(reason: str) -> None:
    line = f"2026/12/07 08:24:36 socat[7] E socket(10, 1, 132): {reason}"
    assert classify_sctp(1, line).outcome is Outcome.UNSUPPORTED


def test_the_greeting_is_the_server_s_line(captured: Captured) -> None:
    obs = classify_sctp(*captured("sctp-shape-greeting"))
    assert obs == Observation(Outcome.CONNECTED, "netpol-conformance sctp 80")


def test_a_refusal_is_only_a_refusal_of_connect() -> None:
    """A "Protocol not supported" of anything but socket() is no missing kernel module."""
    odd = "2026/12/07 08:24:36 socat[7] E setsockopt(5, 132, 1, ...): Protocol not supported"
    assert classify_sctp(1, odd).outcome is Outcome.EXEC_ERROR
    silent = classify_sctp(0, "")  # associated, then nothing: the server did not greet
    assert silent.outcome is Outcome.EXEC_ERROR and "no greeting" in silent.detail
    assert classify_sctp(127, "sh: socat: not found").outcome is Outcome.EXEC_ERROR


# --- udp ---------------------------------------------------------------------------------------


def test_udp_reply_is_the_reply(captured: Captured) -> None:
    """readbytes=1: socat prints the reply's first byte ("netpol-conformance udp") and ends."""
    obs = classify_udp(*captured("udp-reply"))
    assert (obs.outcome, obs.detail) == (Outcome.CONNECTED, "n")


def test_udp_refusal_is_socats_read_error(captured: Captured) -> None:
    rc, output = captured("udp-rejected")
    obs = classify_udp(rc, output)
    assert rc == 1
    assert obs.outcome is Outcome.REFUSED
    assert obs.detail.startswith("read(") and obs.detail.endswith("Connection refused")


def test_udp_silence_is_a_timeout_only_with_a_clean_exit(captured: Captured) -> None:
    rc, output = captured("udp-dropped")
    assert (rc, output.strip()) == (0, "")
    assert classify_udp(rc, output).outcome is Outcome.TIMEOUT
    assert classify_udp(1, output).outcome is Outcome.EXEC_ERROR  # failed without a word
    assert classify_udp(143, output).outcome is Outcome.EXEC_ERROR  # killed


def test_udp_other_socat_errors_are_exec_errors() -> None:
    output = "2024/05/15 10:00:00 socat[7] E UDP: wrong number of parameters (2 instead of 1)"
    assert classify_udp(1, output).outcome is Outcome.EXEC_ERROR


def test_udp_socat_1_8_log_lines_are_read_too() -> None:
    """socat 1.8 (netshoot) logs the same way; -lu adds microseconds."""
    output = "2024/05/15 10:00:00.123456 socat[7] E read(5, 0x7f, 8192): Connection refused"
    assert classify_udp(1, output).outcome is Outcome.REFUSED


# --- dig ---------------------------------------------------------------------------------------


def test_dig_answer_is_the_answer_not_the_server(captured: Captured) -> None:
    obs = classify_dig(*captured("dig-answer"))
    assert (obs.outcome, obs.detail) == (Outcome.DNS_OK, "10.96.0.1")  # not the resolver's
    assert str(obs) == "dns-ok(10.96.0.1)"


@pytest.mark.parametrize(
    ("case", "detail"),
    [("nxdomain", "NXDOMAIN"), ("servfail", "SERVFAIL"), ("refused", "REFUSED")],
)
def test_dig_negative_answers_name_the_rcode(captured: Captured, case: str, detail: str) -> None:
    obs = classify_dig(*captured(f"dig-{case}"))
    assert (obs.outcome, obs.detail) == (Outcome.DNS_NEGATIVE, detail)
    assert str(obs) == f"dns-negative({detail})"


def test_exec_transport_failure_is_an_exec_error(captured: Captured) -> None:
    rc, output = captured("cluster-kube-router-exec-container-gone")
    assert "unable to upgrade connection" in output
    obs = classify_dig(rc, output)
    assert obs.outcome is Outcome.EXEC_ERROR and "container not found" in obs.detail


def test_kube_router_rejects_udp_as_a_port_unreachable(captured: Captured) -> None:
    """On the real cluster a denied datagram comes back refused in well under a timeout."""
    for port in (5432, 53):
        rc, output = captured(f"cluster-kube-router-denied-udp-{port}")
        assert rc == 1 and "Connection refused" in output
        rc, output = captured(f"cluster-kube-router-open-udp-{port}")
        assert (rc, classify_udp(rc, output).detail) == (0, "n")  # "netpol-conformance udp"


def test_dig_no_answer_is_negative(captured: Captured) -> None:
    """NOERROR without an address: the name exists, but has no A record."""
    rc, output = captured("dig-nodata")
    assert rc == 0 and "status: NOERROR" in output
    assert classify_dig(rc, output) == Observation(Outcome.DNS_NEGATIVE, "no answer")


def test_dig_no_server_reached_is_dns_fail(captured: Captured) -> None:
    dropped = classify_dig(*captured("dig-dropped"))
    rejected = classify_dig(*captured("dig-not-listening"))
    assert dropped.outcome is rejected.outcome is Outcome.DNS_FAIL
    assert "timed out" in dropped.detail and "connection refused" in rejected.detail


def test_dig_killed_or_terminated_is_not_a_failed_lookup(captured: Captured) -> None:
    for name in ("killed", "terminated"):
        rc, output = captured(f"dig-{name}")
        obs = classify_dig(rc, output)
        assert obs.outcome is Outcome.EXEC_ERROR, name
        assert obs.detail.startswith(f"dig exit {rc}")
    # dig exits 0 without a word on SIGTERM: exit 0 alone proves nothing
    assert captured("dig-terminated") == (0, "")


def test_a_source_port_the_probe_cannot_bind_is_its_own_failure(captured: Captured) -> None:
    """No packet left: "address in use" is never read as a lost query or datagram."""
    rc, output = captured("dig-source-port-in-use")
    assert rc == 9 and "no servers could be reached" in output  # what a drop also prints
    assert classify_dig(rc, output).outcome is Outcome.EXEC_ERROR
    rc, output = captured("udp-source-port-in-use")
    assert classify_udp(rc, output).outcome is Outcome.EXEC_ERROR


@pytest.mark.parametrize(
    ("rc", "output"),
    [
        (2, ""),  # an exit code dig does not use
        (10, ";; internal error"),
        (126, "sh: dig: Permission denied"),
        (127, ""),
        (143, ""),
        (1, ""),
        (1, 'error: unable to upgrade connection: container not found ("probe")'),
        (
            1,
            "OCI runtime exec failed: exec failed: unable to start container process: exec: "
            '"dig": executable file not found in $PATH: unknown',
        ),
        (0, "something else entirely"),
        (9, "something else entirely"),
    ],
)
def test_dig_exec_errors(rc: int, output: str) -> None:
    assert classify_dig(rc, output).outcome is Outcome.EXEC_ERROR


def test_every_dig_answer_fits_what_a_batch_keeps_of_a_tools_output(captured: Captured) -> None:
    """The batch keeps OUTPUT_LIMIT bytes of each tool's output: dig's answer section must lie
    well inside (+noedns drops the OPT pseudosection that CoreDNS's cookie makes long)."""
    for name in ("dig-answer", "cluster-kube-router-open-dns"):
        _, output = captured(name)
        assert len(output.encode()) < OUTPUT_LIMIT - 100, name
        assert "ANSWER SECTION" in output
