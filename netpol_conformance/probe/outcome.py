"""What a probe observed. A value, never a boolean."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    CONNECTED = "connected"
    TIMEOUT = "timeout"  # the only proof of a drop
    REFUSED = "refused"  # a reject, or nothing listening: needs a control probe to tell
    DNS_OK = "dns-ok"
    DNS_FAIL = "dns-fail"
    EXEC_ERROR = "exec-error"  # the probe itself failed: an error, never "blocked"


@dataclass(frozen=True)
class Observation:
    outcome: Outcome
    detail: str = ""  # the resolved address for dns-ok, the tool's message otherwise

    def __str__(self) -> str:
        if self.outcome is Outcome.DNS_OK and self.detail:
            return f"dns-ok({self.detail})"
        if self.outcome is Outcome.EXEC_ERROR:
            return f"exec-error({self.detail})"
        return self.outcome.value
