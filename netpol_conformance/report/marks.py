"""One mark per observed category, shared by every truth table (terminal, HTML, markdown)."""

from __future__ import annotations

from netpol_conformance.probe.outcome import Observation, Outcome

MARKS: dict[Outcome, str] = {
    Outcome.CONNECTED: ".",
    Outcome.DNS_OK: ".",
    Outcome.TIMEOUT: "X",
    Outcome.DNS_FAIL: "X",
    Outcome.REFUSED: "R",
    Outcome.DNS_NEGATIVE: "N",
    Outcome.UNREACHABLE: "U",
    Outcome.EXEC_ERROR: "E",
}
LEGEND = (
    ". connected/resolved  X timed out/dns failed  R refused  N dns negative answer  "
    "U unreachable  E exec error  * differs"
)
NOT_OBSERVED = "?"  # a probe that was never observed (the run stopped before it)


def mark(observed: Observation | Outcome | None) -> str:
    if observed is None:
        return NOT_OBSERVED
    outcome = observed.outcome if isinstance(observed, Observation) else observed
    return MARKS[outcome]
