"""Pure judging: the outcome a probe must observe on a CNI, and whether an observation meets it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from netpol_conformance.cni import DROP, CniProfile
from netpol_conformance.probe.kinds import KINDS
from netpol_conformance.probe.outcome import NOT_A_VERDICT, Observation, Outcome
from netpol_conformance.probe.spec import Probe


def expected_outcome(kind: str, allowed: bool, profile: CniProfile) -> Outcome:
    """What a probe must observe: a CNI that does not enforce lets everything through."""
    probe_kind = KINDS[kind]
    if allowed or not profile.enforces:
        return probe_kind.through
    if probe_kind.blocked is not None:
        return probe_kind.blocked
    return Outcome.TIMEOUT if profile.deny_style == DROP else Outcome.REFUSED


def meets(
    expected: Outcome,
    observed: Observation,
    listening: bool | None = None,
    strict_deny_style: bool = False,
) -> bool:
    """Whether an observation satisfies an expectation.

    A refusal only proves a (rejecting) deny when a control probe showed the server listening;
    an exec error, a DNS server's negative answer and an unreachable network never satisfy
    anything. Under a rejecting CNI a timeout also meets a deny: the kernel rate-limits the
    ICMP errors a reject sends, so a reject can degrade into silence (a drop never turns into
    a reject, so under a dropping CNI a refusal never meets a deny). ``strict_deny_style``
    demands exactly the profile's style.
    """
    if observed.outcome in NOT_A_VERDICT:
        return False
    if expected is Outcome.REFUSED and observed.outcome is Outcome.TIMEOUT:
        return not strict_deny_style
    if observed.outcome is not expected:
        return False
    if expected is Outcome.REFUSED:
        return listening is True
    return True


def deny_styles(pairs: Iterable[tuple[Outcome, Observation | None]]) -> Counter[str]:
    """How denies were observed: ``refused`` and ``timeout`` counts over (expected,
    observed) pairs whose expectation is a TCP/UDP deny."""
    return Counter(
        obs.outcome.value
        for exp, obs in pairs
        if exp in (Outcome.TIMEOUT, Outcome.REFUSED)
        and obs is not None
        and obs.outcome in (Outcome.TIMEOUT, Outcome.REFUSED)
    )


def deny_style_line(profile: CniProfile, counts: Mapping[str, int]) -> str:
    """``refused 92%, timeout 8%: ICMP rate limit suspected``, or "" with no deny seen."""
    total = sum(counts.values())
    if not total:
        return ""
    parts = ", ".join(
        f"{style} {round(100 * counts[style] / total)}%"
        for style in ("refused", "timeout")
        if counts.get(style)
    )
    if profile.enforces and profile.deny_style != DROP and counts.get("timeout"):
        parts += ": ICMP rate limit suspected (net.ipv4.icmp_ratelimit turns rejects into silence)"
    elif profile.deny_style == DROP and counts.get("refused"):
        parts += f": {profile.name} should drop; refusals mean a reject"
    return parts


def explain_mismatch(
    expected: Outcome, observed: Observation, profile: CniProfile, listening: bool | None
) -> str:
    if observed.outcome is Outcome.EXEC_ERROR:
        return "the probe itself failed: this is an infrastructure error, not a policy verdict"
    if observed.outcome is Outcome.UNSUPPORTED:
        return (
            "the node's kernel cannot carry this protocol (no socket could be opened): not a "
            "policy verdict"
        )
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
            f"{profile.name} rejects denied connections and --strict-deny-style demands a "
            "refusal; a timeout means a drop, a dead path, or the node's ICMP rate limit "
            "(net.ipv4.icmp_ratelimit) swallowing the reject"
        )
    if expected in (Outcome.TIMEOUT, Outcome.REFUSED, Outcome.DNS_FAIL):
        return "the policy should block this connection, but it got through"
    return "the policy should allow this connection, but it was blocked"


def judge(
    expected: Mapping[Probe, Outcome],
    observed: Mapping[Probe, Observation],
    listening: Mapping[Probe, bool],
    strict_deny_style: bool = False,
) -> dict[Probe, bool]:
    """Whether each probe met its expectation; ``listening`` is the control evidence for
    refusals (a probe absent from it has none)."""
    return {
        p: meets(exp, observed[p], listening.get(p), strict_deny_style)
        for p, exp in expected.items()
    }


def needs_control(expected: Outcome, observed: Observation) -> bool:
    """A refusal meets a refusal only with a control probe proving the server listens."""
    return expected is Outcome.REFUSED and observed.outcome is Outcome.REFUSED
