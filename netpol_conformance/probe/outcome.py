"""What a probe observed. A value, never a boolean."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import Field


class Outcome(StrEnum):
    """What a probe observed."""

    CONNECTED = "connected"  # the handshake completed, or a UDP reply came back
    TIMEOUT = "timeout"  # nothing came back: the only proof of a drop
    REFUSED = "refused"  # ECONNREFUSED: a reject, or nothing listening (needs a control probe)
    DNS_OK = "dns-ok"
    DNS_FAIL = "dns-fail"  # no DNS server could be reached: timed out or refused
    DNS_NEGATIVE = "dns-negative"  # a server was reached and said no (NXDOMAIN, SERVFAIL, ...)
    UNREACHABLE = "unreachable"  # no path: network unreachable / no route to host
    EXEC_ERROR = "exec-error"  # the probe itself failed: an error, never "blocked"
    # The node's kernel cannot carry the probe's protocol (SCTP without its module): the probe
    # could not even open a socket. Neither allowed nor denied: the probes of that protocol are
    # skipped for the run.
    UNSUPPORTED = "unsupported"


# Outcomes that say nothing about a policy: they never meet an expectation.
NOT_A_VERDICT = frozenset(
    {Outcome.DNS_NEGATIVE, Outcome.UNREACHABLE, Outcome.EXEC_ERROR, Outcome.UNSUPPORTED}
)
# What a deny looks like, and what getting through looks like, whatever the CNI.
DENIED = frozenset({Outcome.TIMEOUT, Outcome.REFUSED, Outcome.DNS_FAIL})
THROUGH = frozenset({Outcome.CONNECTED, Outcome.DNS_OK})
ALLOW = "allow"
DENY = "deny"


def verdict_of(outcome: Outcome) -> str | None:
    """``allow``, ``deny`` (a refusal and a timeout alike), or None for an outcome that says
    nothing about a policy."""
    if outcome in THROUGH:
        return ALLOW
    return DENY if outcome in DENIED else None


@dataclass(frozen=True)
class Observation:
    """One observation of a probe (in a results file: ``category`` and ``detail``)."""

    outcome: Annotated[Outcome, Field(alias="category")]
    detail: Annotated[
        str, Field(description="The resolved address for dns-ok, the tool's message otherwise.")
    ] = ""

    def __str__(self) -> str:
        if self.outcome is Outcome.DNS_OK and self.detail:
            return f"dns-ok({self.detail})"
        if self.outcome in NOT_A_VERDICT:
            return f"{self.outcome.value}({self.detail})"
        return self.outcome.value
