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
    Outcome.UNSUPPORTED: "S",
}
# What each mark says, in the order the legends list them; every mark of MARKS is here once.
MEANINGS: tuple[tuple[str, str], ...] = (
    (".", "connected/resolved"),
    ("X", "timed out/DNS failed"),
    ("R", "refused"),
    ("N", "DNS negative answer"),
    ("U", "unreachable"),
    ("E", "exec error"),
    ("S", "protocol unsupported by the node"),
)
NOT_OBSERVED = "?"  # a probe that was never observed (the run stopped before it)
DIFFERS = "*"  # an observed cell that is not as expected
DEVIATES = "~"  # an observed cell that is an expected deviation of the CNI
LEGEND = (
    "  ".join(f"{m} {meaning}" for m, meaning in MEANINGS)
    + f"  {DIFFERS} differs  {DEVIATES} expected deviation"
)

# One symbol per state of a step or a run, for every report.
STATE_MARKS = {"passed": "\u2713", "failed": "\u2717", "deviations": "~"}  # ✓ ✗ ~


def mark(observed: Observation | Outcome | None) -> str:
    if observed is None:
        return NOT_OBSERVED
    outcome = observed.outcome if isinstance(observed, Observation) else observed
    return MARKS[outcome]
