"""From allowed/denied to the outcome a probe must show, and when an observation meets it."""

from __future__ import annotations

import pytest

from netpol_conformance.cni import PROFILES, profile
from netpol_conformance.plan.judge import (
    deny_style_line,
    deny_styles,
    expected_outcome,
    explain_mismatch,
    meets,
)
from netpol_conformance.probe.outcome import NOT_A_VERDICT, Observation, Outcome
from netpol_conformance.probe.spec import DNS, TCP

CALICO, KUBE_ROUTER, FLANNEL = profile("calico"), profile("kube-router"), profile("flannel")


@pytest.mark.parametrize(
    ("cni", "kind", "allowed", "outcome"),
    [
        ("calico", TCP, True, Outcome.CONNECTED),
        ("calico", TCP, False, Outcome.TIMEOUT),
        ("calico", DNS, True, Outcome.DNS_OK),
        ("calico", DNS, False, Outcome.DNS_FAIL),
        ("kube-router", TCP, True, Outcome.CONNECTED),
        ("kube-router", TCP, False, Outcome.REFUSED),
        ("kube-router", DNS, False, Outcome.DNS_FAIL),  # a UDP deny has no "refused"
        ("flannel", TCP, False, Outcome.CONNECTED),  # nothing is enforced
        ("flannel", DNS, False, Outcome.DNS_OK),
        ("bridge", TCP, False, Outcome.CONNECTED),
        ("kindnet", TCP, False, Outcome.TIMEOUT),
        ("cilium", TCP, False, Outcome.TIMEOUT),
    ],
)
def test_expected_outcome(cni: str, kind: str, allowed: bool, outcome: Outcome) -> None:
    assert expected_outcome(kind, allowed, profile(cni)) is outcome


def test_every_profile_has_a_known_deny_style() -> None:
    for p in PROFILES.values():
        assert p.deny_style in ("drop", "reject"), p.name
        denied = expected_outcome(TCP, False, p)
        assert denied in (Outcome.TIMEOUT, Outcome.REFUSED, Outcome.CONNECTED)
        assert (denied is Outcome.CONNECTED) == (not p.enforces)


EXPECTABLE = sorted(
    {
        expected_outcome(k, a, p)
        for k in (TCP, DNS)
        for a in (True, False)
        for p in PROFILES.values()
    }
)


def test_no_expectation_is_an_exec_error() -> None:
    assert Outcome.EXEC_ERROR not in EXPECTABLE
    assert set(EXPECTABLE) == set(Outcome) - NOT_A_VERDICT
    assert {
        Outcome.EXEC_ERROR,
        Outcome.DNS_NEGATIVE,
        Outcome.UNREACHABLE,
        Outcome.UNSUPPORTED,
    } == NOT_A_VERDICT


@pytest.mark.parametrize("listening", [None, False, True])
@pytest.mark.parametrize("expected", sorted(set(Outcome)))
@pytest.mark.parametrize("observed", sorted(NOT_A_VERDICT))
def test_no_verdict_never_meets_anything(
    expected: Outcome, observed: Outcome, listening: bool | None
) -> None:
    """Not even an expectation of the same outcome: an exec error, a DNS server's negative
    answer and an unreachable network say nothing about a policy."""
    assert not meets(expected, Observation(observed, "why"), listening)


def test_refused_counts_only_with_a_positive_control_probe() -> None:
    refused = Observation(Outcome.REFUSED)
    assert meets(Outcome.REFUSED, refused, listening=True)
    assert not meets(Outcome.REFUSED, refused, listening=False)
    assert not meets(Outcome.REFUSED, refused, listening=None)


@pytest.mark.parametrize("listening", [None, False, True])
def test_other_outcomes_do_not_need_a_control_probe(listening: bool | None) -> None:
    for o in (Outcome.CONNECTED, Outcome.TIMEOUT, Outcome.DNS_OK, Outcome.DNS_FAIL):
        assert meets(o, Observation(o), listening)


@pytest.mark.parametrize("expected", list(Outcome))
@pytest.mark.parametrize("observed", list(Outcome))
def test_only_the_same_outcome_meets(expected: Outcome, observed: Outcome) -> None:
    """Strictly, only the same outcome meets; tolerantly, a reject may also be a timeout."""
    if expected is not observed:
        assert not meets(expected, Observation(observed), listening=True, strict_deny_style=True)
        tolerated = (expected, observed) == (Outcome.REFUSED, Outcome.TIMEOUT)
        assert meets(expected, Observation(observed), listening=True) is tolerated


def test_a_drop_cni_refusing_is_not_a_deny() -> None:
    expected = expected_outcome(TCP, False, CALICO)
    assert not meets(expected, Observation(Outcome.REFUSED), listening=True)
    why = explain_mismatch(expected, Observation(Outcome.REFUSED), CALICO, True)
    assert "calico drops" in why


def test_a_reject_cni_timing_out_is_not_its_strict_deny() -> None:
    expected = expected_outcome(TCP, False, KUBE_ROUTER)
    assert not meets(expected, Observation(Outcome.TIMEOUT), strict_deny_style=True)
    assert "kube-router rejects" in explain_mismatch(
        expected, Observation(Outcome.TIMEOUT), KUBE_ROUTER, None
    )


@pytest.mark.parametrize(
    ("expected", "observed", "listening", "phrase"),
    [
        (Outcome.CONNECTED, Outcome.EXEC_ERROR, None, "infrastructure error"),
        (Outcome.DNS_OK, Outcome.DNS_NEGATIVE, None, "not a policy verdict"),
        (Outcome.DNS_FAIL, Outcome.DNS_NEGATIVE, None, "the network let the query through"),
        (Outcome.REFUSED, Outcome.UNREACHABLE, True, "no path to the destination"),
        (Outcome.TIMEOUT, Outcome.UNREACHABLE, None, "not a policy verdict"),
        (Outcome.TIMEOUT, Outcome.EXEC_ERROR, None, "infrastructure error"),
        (Outcome.REFUSED, Outcome.REFUSED, False, "nothing listening"),
        (Outcome.TIMEOUT, Outcome.CONNECTED, None, "should block"),
        (Outcome.DNS_FAIL, Outcome.DNS_OK, None, "should block"),
        (Outcome.CONNECTED, Outcome.TIMEOUT, None, "should allow"),
        (Outcome.DNS_OK, Outcome.DNS_FAIL, None, "should allow"),
    ],
)
def test_explain_mismatch(
    expected: Outcome, observed: Outcome, listening: bool | None, phrase: str
) -> None:
    assert phrase in explain_mismatch(expected, Observation(observed), KUBE_ROUTER, listening)


# --- deny style: a reject may degrade into silence, a drop never into a reject -------------------


def test_a_timeout_meets_a_rejecting_deny_unless_strict() -> None:
    timeout = Observation(Outcome.TIMEOUT)
    assert meets(Outcome.REFUSED, timeout, listening=None)
    assert not meets(Outcome.REFUSED, timeout, listening=None, strict_deny_style=True)


def test_a_refusal_never_meets_a_dropping_deny() -> None:
    refused = Observation(Outcome.REFUSED)
    assert not meets(Outcome.TIMEOUT, refused, listening=True)
    assert not meets(Outcome.TIMEOUT, refused, listening=True, strict_deny_style=False)


def test_a_refusal_meets_a_rejecting_deny_only_with_the_control_probe() -> None:
    refused = Observation(Outcome.REFUSED)
    assert meets(Outcome.REFUSED, refused, listening=True, strict_deny_style=True)
    assert not meets(Outcome.REFUSED, refused, listening=False)
    assert not meets(Outcome.REFUSED, refused, listening=None)


def test_nothing_that_is_not_a_verdict_meets_a_deny_even_tolerantly() -> None:
    for outcome in NOT_A_VERDICT:
        assert not meets(Outcome.REFUSED, Observation(outcome), listening=True)


def test_deny_styles_count_only_denies_seen_as_denies() -> None:
    pairs = [
        (Outcome.REFUSED, Observation(Outcome.REFUSED)),
        (Outcome.REFUSED, Observation(Outcome.TIMEOUT)),
        (Outcome.REFUSED, Observation(Outcome.REFUSED)),
        (Outcome.REFUSED, Observation(Outcome.CONNECTED)),  # a leak, not a style
        (Outcome.CONNECTED, Observation(Outcome.TIMEOUT)),  # an allowed probe
        (Outcome.DNS_FAIL, Observation(Outcome.DNS_FAIL)),  # DNS has no style
        (Outcome.REFUSED, None),
    ]
    assert deny_styles(pairs) == {"refused": 2, "timeout": 1}


def test_the_deny_style_line_suspects_the_icmp_rate_limit_on_a_rejecting_cni() -> None:
    line = deny_style_line(profile("kube-router"), {"refused": 92, "timeout": 8})
    assert line.startswith("refused 92%, timeout 8%: ICMP rate limit suspected")
    assert deny_style_line(profile("kube-router"), {"refused": 5}) == "refused 100%"
    assert "should drop" in deny_style_line(profile("calico"), {"timeout": 9, "refused": 1})
    assert deny_style_line(profile("calico"), {}) == ""
