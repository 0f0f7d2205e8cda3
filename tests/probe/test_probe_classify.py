"""Classification of real curl and nslookup outputs (tests/probe/captured) into Outcomes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from netpol_conformance.probe.classify import classify_curl, classify_nslookup
from netpol_conformance.probe.outcome import Outcome

Captured = Callable[[str], tuple[int, str]]


def fold(text: str) -> str:
    """What a batch line carries: the output with its newlines folded to '|'."""
    return text.strip("\n").replace("\n", "|")


# --- curl --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capture", "outcome"),
    [
        ("curl-connected", Outcome.CONNECTED),
        ("curl-empty-reply", Outcome.CONNECTED),  # handshake done; the server said nothing
        ("curl-connected-no-answer", Outcome.CONNECTED),  # exit 28, but after the handshake
        ("curl-dropped", Outcome.TIMEOUT),
        ("curl-rejected", Outcome.REFUSED),
        ("curl-not-listening", Outcome.REFUSED),
        ("curl-unresolvable", Outcome.EXEC_ERROR),
    ],
)
def test_curl_capture(captured: Captured, capture: str, outcome: Outcome) -> None:
    rc, output = captured(capture)
    assert classify_curl(rc, output).outcome is outcome
    # The batch folds newlines; the verdict must not depend on that.
    assert classify_curl(rc, fold(output)).outcome is outcome


def test_curl_dropped_keeps_curls_message(captured: Captured) -> None:
    rc, output = captured("curl-dropped")
    obs = classify_curl(rc, output)
    assert rc == 28
    assert "timed out after 2001 milliseconds" in obs.detail
    assert str(obs) == "timeout"


def test_timeout_before_and_after_the_handshake(captured: Captured) -> None:
    """Both exit 28; only the one that never connected is evidence of a drop."""
    dropped = classify_curl(*captured("curl-dropped"))
    slow = classify_curl(*captured("curl-connected-no-answer"))
    assert captured("curl-dropped")[0] == captured("curl-connected-no-answer")[0] == 28
    assert dropped.outcome is Outcome.TIMEOUT
    assert slow.outcome is Outcome.CONNECTED


def test_reject_and_not_listening_look_the_same(captured: Captured) -> None:
    """Why a refusal needs a control probe: curl cannot tell a reject from a closed port."""
    rejected = classify_curl(*captured("curl-rejected"))
    closed = classify_curl(*captured("curl-not-listening"))
    assert rejected.outcome is closed.outcome is Outcome.REFUSED


@pytest.mark.parametrize(
    ("rc", "output"),
    [
        (1, 'curl: (1) Protocol "htp" not supported'),
        (3, "curl: (3) URL using bad/illegal format or missing URL"),
        (6, "curl: (6) Could not resolve host: db"),
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


def test_curl_unresolvable_names_the_exit_code(captured: Captured) -> None:
    rc, output = captured("curl-unresolvable")
    obs = classify_curl(rc, output)
    assert obs.detail == f"curl exit 6: {output.strip()}"


# --- nslookup ----------------------------------------------------------------------------------


def test_nslookup_answer_is_the_answer_not_the_server(captured: Captured) -> None:
    rc, output = captured("nslookup-answer")
    obs = classify_nslookup(rc, output)
    assert obs.outcome is Outcome.DNS_OK
    assert obs.detail == "10.96.0.1"  # not the resolver's 127.0.0.53
    assert str(obs) == "dns-ok(10.96.0.1)"
    assert classify_nslookup(rc, fold(output)) == obs


def test_nslookup_dropped(captured: Captured) -> None:
    rc, output = captured("nslookup-dropped")
    obs = classify_nslookup(rc, output)
    assert obs.outcome is Outcome.DNS_FAIL
    assert "no servers could be reached" in obs.detail
    assert classify_nslookup(rc, fold(output)).outcome is Outcome.DNS_FAIL


def test_nslookup_nxdomain_is_a_failed_lookup(captured: Captured) -> None:
    rc, output = captured("nslookup-nxdomain")
    obs = classify_nslookup(rc, output)
    assert obs.outcome is Outcome.DNS_FAIL
    assert "NXDOMAIN" in obs.detail
    assert "Server:" not in obs.detail


def test_nslookup_missing_from_the_image(captured: Captured) -> None:
    rc, output = captured("nslookup-missing")
    assert rc == 127
    obs = classify_nslookup(rc, output)
    assert obs.outcome is Outcome.EXEC_ERROR
    assert "not found" in obs.detail


@pytest.mark.parametrize(
    ("rc", "output"),
    [
        (126, "sh: nslookup: Permission denied"),
        (127, ""),
        (
            1,
            "OCI runtime exec failed: exec failed: unable to start container process: exec: "
            '"nslookup": executable file not found in $PATH: unknown',
        ),
        (1, "sh: nslookup: not found"),
    ],
)
def test_nslookup_exec_errors(rc: int, output: str) -> None:
    assert classify_nslookup(rc, output).outcome is Outcome.EXEC_ERROR


def test_nslookup_ipv6_answer(captured: Captured) -> None:
    rc, output = captured("nslookup-answer")
    v6 = output.replace("Address: 10.96.0.1", "Address: fd00:10:96::1")
    obs = classify_nslookup(rc, v6)
    assert obs.outcome is Outcome.DNS_OK
    assert obs.detail == "fd00:10:96::1"


def test_nslookup_success_exit_without_an_answer_is_not_dns_ok(captured: Captured) -> None:
    rc, output = captured("nslookup-answer")
    server_only = output.split("Name:")[0]
    assert classify_nslookup(rc, server_only).outcome is Outcome.DNS_FAIL


def test_nslookup_old_busybox_format() -> None:
    """busybox 1.28 (the image of many Kubernetes DNS how-tos) prints ``Address 1: IP NAME``."""
    output = (
        "Server:    10.96.0.10\n"
        "Address 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n"
        "\n"
        "Name:      kubernetes.default.svc.cluster.local\n"
        "Address 1: 10.96.0.1 kubernetes.default.svc.cluster.local\n"
    )
    obs = classify_nslookup(0, output)
    assert obs.outcome is Outcome.DNS_OK
    assert obs.detail == "10.96.0.1"
    assert classify_nslookup(0, fold(output)) == obs


def test_nslookup_new_busybox_format() -> None:
    output = (
        "Server:\t\t10.96.0.10\n"
        "Address:\t10.96.0.10:53\n"
        "\n"
        "\n"
        "Name:\tkubernetes.default.svc.cluster.local\n"
        "Address: 10.96.0.1\n"
    )
    obs = classify_nslookup(0, output)
    assert (obs.outcome, obs.detail) == (Outcome.DNS_OK, "10.96.0.1")
