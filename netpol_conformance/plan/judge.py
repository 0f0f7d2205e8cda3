"""Pure judging: the outcome a probe must observe on a CNI, and whether an observation meets it."""

from __future__ import annotations

from collections.abc import Mapping

from netpol_conformance.cni import DROP, CniProfile
from netpol_conformance.probe.outcome import NOT_A_VERDICT, Observation, Outcome
from netpol_conformance.probe.spec import DNS, Probe


def expected_outcome(kind: str, allowed: bool, profile: CniProfile) -> Outcome:
    """What a probe must observe: a CNI that does not enforce lets everything through."""
    allowed = allowed or not profile.enforces
    if kind == DNS:
        return Outcome.DNS_OK if allowed else Outcome.DNS_FAIL
    if allowed:
        return Outcome.CONNECTED
    return Outcome.TIMEOUT if profile.deny_style == DROP else Outcome.REFUSED


def meets(expected: Outcome, observed: Observation, listening: bool | None = None) -> bool:
    """Whether an observation satisfies an expectation.

    A refusal only proves a (rejecting) deny when a control probe showed the server listening;
    an exec error, a DNS server's negative answer and an unreachable network never satisfy
    anything.
    """
    if observed.outcome is not expected or observed.outcome in NOT_A_VERDICT:
        return False
    if expected is Outcome.REFUSED:
        return listening is True
    return True


def explain_mismatch(
    expected: Outcome, observed: Observation, profile: CniProfile, listening: bool | None
) -> str:
    if observed.outcome is Outcome.EXEC_ERROR:
        return "the probe itself failed: this is an infrastructure error, not a policy verdict"
    if observed.outcome is Outcome.DNS_NEGATIVE:
        return (
            "a DNS server was reached and answered no (NXDOMAIN, SERVFAIL, REFUSED or no "
            "answer): the network let the query through, so this is not a policy verdict; "
            "check the name and the cluster's DNS"
        )
    if observed.outcome is Outcome.UNREACHABLE:
        return (
            "no path to the destination (network unreachable / no route to host): a routing "
            "or infrastructure failure, not a policy verdict (a CNI that rejects with "
            "icmp-host-prohibited or icmp-admin-prohibited looks the same)"
        )
    if expected is Outcome.REFUSED and observed.outcome is Outcome.REFUSED and not listening:
        return (
            "refused, but the control probe found nothing listening on that port inside the "
            "destination pod, so the refusal proves nothing about the policy"
        )
    if expected is Outcome.TIMEOUT and observed.outcome is Outcome.REFUSED:
        return f"{profile.name} drops denied packets; a refusal means a reject or a missing server"
    if expected is Outcome.REFUSED and observed.outcome is Outcome.TIMEOUT:
        return (
            f"{profile.name} rejects denied connections; a timeout means a drop, a dead path, "
            "or the node's ICMP rate limit (net.ipv4.icmp_ratelimit) swallowing the reject"
        )
    if expected in (Outcome.TIMEOUT, Outcome.REFUSED, Outcome.DNS_FAIL):
        return "the policy should block this connection, but it got through"
    return "the policy should allow this connection, but it was blocked"


def judge(
    expected: Mapping[Probe, Outcome],
    observed: Mapping[Probe, Observation],
    listening: Mapping[Probe, bool],
) -> dict[Probe, bool]:
    """Whether each probe met its expectation; ``listening`` is the control evidence for
    refusals (a probe absent from it has none)."""
    return {p: meets(exp, observed[p], listening.get(p)) for p, exp in expected.items()}


def needs_control(expected: Outcome, observed: Observation) -> bool:
    """A refusal meets a refusal only with a control probe proving the server listens."""
    return expected is Outcome.REFUSED and observed.outcome is Outcome.REFUSED
