"""The upgrade gate's verdict: from the timeline and the before/after comparison. Pure.

The gate passes when the suite after the upgrade has no leak or regression against the suite
before it, no gated probe that must not get through ever did, every gated probe that must
get through was never disrupted for longer than ``limits.new`` (and recovered), every held
connection survived with no stall longer than ``limits.established``, the upgrade command
exited 0 and the CNI was Ready again in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from netpol_conformance.results.compare import Comparison
from netpol_conformance.results.upgrade import DOWN, UP, Limits, UpgradeRecord, signed


@dataclass(frozen=True)
class GateOptions:
    """The gate's own options, validated (the command line builds them)."""

    upgrade_command: str
    ready_command: str | None
    cni_daemonset: tuple[str, str] | None
    interval: float
    live_timeout: float
    baseline: float
    settle: float
    ready_timeout: float
    upgrade_timeout: float
    limits: Limits
    out: Path
    html: Path | None


@dataclass(frozen=True)
class GateResult:
    reasons: tuple[str, ...]  # why it failed; empty when it passed

    @property
    def passed(self) -> bool:
        return not self.reasons

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def live_reasons(record: UpgradeRecord) -> list[str]:
    reasons: list[str] = []
    if record.exit_code != 0:
        reasons.append(f"the upgrade command: {record.command_text}")
    if not record.ready:
        reasons.append(f"the CNI was not Ready again ({record.ready_check})")
    gated = [p for p in record.probes if p.gated]
    leaking = [p for p in gated if p.role == DOWN and p.leaks]
    if leaking:
        first = min(t for p in leaking for t in p.leaks)
        total = sum(len(p.leaks) for p in leaking)
        reasons.append(
            f"{_plural(len(leaking), 'denied probe')} got through ({_plural(total, 'sample')}, "
            f"the first at {signed(first)} s)"
        )
    limit = record.limits.new
    for p in gated:
        if p.role != UP:
            continue
        open_windows = [w for w in p.windows if not w.ended]
        if open_windows:
            reasons.append(
                f"{p.label} was still disrupted when probing stopped (since "
                f"{signed(open_windows[0].start)} s)"
            )
        elif p.longest > limit:
            reasons.append(
                f"{p.label} was disrupted for {p.longest:.2f} s (limit {limit:g} s, "
                "--max-disruption)"
            )
    limit = record.limits.established
    for c in record.connections:
        if c.broken:
            reasons.append(f"the held connection {c.label} broke: {c.reason}")
        elif c.longest > limit:
            reasons.append(
                f"the held connection {c.label} stalled for {c.longest:.2f} s (limit {limit:g} s, "
                "--max-disruption-established)"
            )
    return reasons


def compare_reasons(comparison: Comparison | None) -> list[str]:
    if comparison is None:
        return ["the suite's runs before and after the upgrade could not be compared"]
    if comparison.passed:
        return []
    leaks, regressions = len(comparison.leaks), len(comparison.regressions)
    return [
        f"the suite after the upgrade: {_plural(leaks, 'leak')} and "
        f"{_plural(regressions, 'regression')} against the suite before it"
    ]


def gate(record: UpgradeRecord, comparison: Comparison | None) -> GateResult:
    return GateResult(tuple(compare_reasons(comparison) + live_reasons(record)))
