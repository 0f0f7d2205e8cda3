"""Two runs side by side: what got worse, what got better, what merely changed. Pure values.

Every probe present in both runs is classified once, by the first rule that holds:

- deviation: it is not as expected after, an expected deviation of the CNI covers it, and none
  did before (the deviation's entry gives the reason);
- leak: the policies deny it (either run expected a deny), it got through after, not before;
- regression: it was as expected (or a listed deviation) before and is neither after, or it
  was not observed after because its scenario's set-up failed or the run ended early;
- fix: it was not as expected before and is after;
- category: the verdict is the same but the observed category changed (a timeout became a
  refusal: the deny style changed).

A probe of the before run that the after run did not probe at all is missing: a gate must not
pass on a later run that checked less (a narrower ``-m``, a run cut short). Leaks, regressions
and missing probes gate (exit 1); everything else is information. ``allow_missing`` turns
missing probes into information, for a later run narrowed on purpose. A listed deviation does
not gate, as it does not fail the run that observed it. The runs' options that change verdicts
(the selection, the confirmation window, the deny style demanded, ...) are compared too, so
that a difference in them is never silent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from netpol_conformance.probe.outcome import DENIED, THROUGH, Observation, Outcome
from netpol_conformance.results.records import ProbeRecord, RunRecord, StepResult

# Polls on a real cluster are one second apart, so a time to enforce is only known to about a
# second either way; a difference must exceed two poll intervals to be more than that noise.
DEFAULT_ENFORCE_THRESHOLD = 2.0
UNFINISHED = frozenset({"error", "interrupted", "incomplete"})


class Change(StrEnum):
    LEAK = "leak"
    REGRESSION = "regression"
    DEVIATION = "deviation"
    FIX = "fix"
    CATEGORY = "category"
    MISSING = "missing"
    ONLY_BEFORE = "only-before"
    ONLY_AFTER = "only-after"


GATING = frozenset({Change.LEAK, Change.REGRESSION, Change.MISSING})
ORDER = {kind: rank for rank, kind in enumerate(Change)}


@dataclass(frozen=True, order=True)
class StepKey:
    """A step of a run; ``occurrence`` tells apart a state applied twice in one scenario."""

    scenario: str
    step: str
    occurrence: int = 0

    def __str__(self) -> str:
        name = self.scenario if self.step == self.scenario else f"{self.scenario} / {self.step}"
        return f"{name} (#{self.occurrence + 1})" if self.occurrence else name


@dataclass(frozen=True)
class Side:
    """One probe as one run saw it."""

    expected: Outcome
    observed: Observation | None
    met: bool
    deviation: str = ""

    @property
    def category(self) -> Outcome | None:
        return self.observed.outcome if self.observed else None

    @property
    def got_through(self) -> bool:
        return self.category in THROUGH

    @property
    def deviates(self) -> bool:
        """Not as expected, but covered by an expected deviation of the CNI."""
        return not self.met and bool(self.deviation)

    @property
    def accepted(self) -> bool:
        return self.met or self.deviates


@dataclass(frozen=True)
class ProbeChange:
    kind: Change
    step: StepKey
    label: str
    before: Side | None
    after: Side | None
    note: str = ""  # why: the deviation's reason, the set-up error, ...

    @property
    def gating(self) -> bool:
        return self.kind in GATING


@dataclass(frozen=True)
class EnforceChange:
    step: StepKey
    before: float | None  # seconds; None: did not converge
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class MetadataChange:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class Comparison:
    probes: tuple[ProbeChange, ...]  # leaks first, then by kind, then in run order
    enforcement: tuple[EnforceChange, ...]
    metadata: tuple[MetadataChange, ...]
    compared: int  # probes present in both runs
    threshold: float  # seconds, for enforcement changes
    inconsistent: tuple[str, ...] = ()  # a file's stored verdicts its observations contradict
    unfinished: str = ""  # why the after run did not finish: it cannot pass a gate

    def of(self, kind: Change) -> tuple[ProbeChange, ...]:
        return tuple(c for c in self.probes if c.kind is kind)

    @property
    def leaks(self) -> tuple[ProbeChange, ...]:
        return self.of(Change.LEAK)

    @property
    def regressions(self) -> tuple[ProbeChange, ...]:
        return self.of(Change.REGRESSION)

    @property
    def missing(self) -> tuple[ProbeChange, ...]:
        return self.of(Change.MISSING)

    @property
    def gating(self) -> tuple[ProbeChange, ...]:
        return tuple(c for c in self.probes if c.gating)

    @property
    def passed(self) -> bool:
        return not self.gating and not self.inconsistent and not self.unfinished

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def counts(self) -> dict[Change, int]:
        return {kind: len(self.of(kind)) for kind in Change}


def keyed_steps(run: RunRecord) -> Iterator[tuple[StepKey, StepResult]]:
    seen: dict[tuple[str, str], int] = {}
    for step in run.steps:
        n = seen.get((step.scenario, step.step), 0)
        seen[(step.scenario, step.step)] = n + 1
        yield StepKey(step.scenario, step.step, n), step


def _side(record: ProbeRecord) -> Side:
    return Side(record.expected, record.observed, record.met, record.deviation)


def _sides(run: RunRecord) -> dict[tuple[StepKey, str], Side]:
    return {
        (key, record.probe.label): _side(record)
        for key, step in keyed_steps(run)
        for record in step.probes
    }


def classify(before: Side, after: Side) -> Change | None:
    """What happened to one probe between two runs; None when nothing did."""
    if after.deviates and not before.deviates:
        return Change.DEVIATION
    denied = before.expected in DENIED or after.expected in DENIED
    if denied and after.got_through and not before.got_through:
        return Change.LEAK
    if before.accepted and not after.accepted:
        return Change.REGRESSION
    if after.met and not before.met:
        return Change.FIX
    return _same_or_category(before, after)


def _same_or_category(before: Side, after: Side) -> Change | None:
    return Change.CATEGORY if before.category != after.category else None


def _missing_after(key: StepKey, after: RunRecord) -> str:
    """Why a probe of the before run is absent after, when that counts as a regression."""
    if key.scenario in after.setup_errors:
        return f"not observed: set-up failed: {after.setup_errors[key.scenario]}"
    if key.scenario in after.lost:
        return f"not observed: {after.lost[key.scenario]}"
    if after.status in UNFINISHED:
        return f"not observed: the run ended early ({after.status})"
    return ""


def _probe_changes(
    before: RunRecord, after: RunRecord, allow_missing: bool = False
) -> tuple[list[ProbeChange], int]:
    old, new = _sides(before), _sides(after)
    absent = Change.ONLY_BEFORE if allow_missing else Change.MISSING
    order = {k: i for i, k in enumerate([*new, *(k for k in old if k not in new)])}
    changes: list[ProbeChange] = []
    compared = 0
    for (key, label), b in old.items():
        a = new.get((key, label))
        if a is None:
            why = _missing_after(key, after)
            kind = Change.REGRESSION if why and b.accepted else absent
            changes.append(ProbeChange(kind, key, label, b, None, why or "not probed after"))
            continue
        compared += 1
        change = classify(b, a)
        if change is not None:
            note = a.deviation if change is Change.DEVIATION else ""
            changes.append(ProbeChange(change, key, label, b, a, note))
    for (key, label), a in new.items():
        if (key, label) not in old:
            changes.append(ProbeChange(Change.ONLY_AFTER, key, label, None, a))
    changes.sort(key=lambda c: (ORDER[c.kind], order[(c.step, c.label)]))
    return changes, compared


def _enforcement(before: RunRecord, after: RunRecord, threshold: float) -> Iterable[EnforceChange]:
    old = {key: step.time_to_enforce for key, step in keyed_steps(before)}
    for key, step in keyed_steps(after):
        if key not in old:
            continue
        b, a = old[key], step.time_to_enforce
        if (b is None) != (a is None) or (
            b is not None and a is not None and abs(a - b) > threshold
        ):
            yield EnforceChange(key, b, a)


# The options of a run that change what its verdicts mean (results file ``options``).
VERDICT_OPTIONS = {
    "selection": "selection (pytest -m, -k and paths)",
    "confirm_window": "confirmation window (s)",
    "strict_deny_style": "--strict-deny-style",
    "max_time_to_enforce": "time budget to enforce (s)",
    "hold": "hold of the final state (s)",
    "enforce_timeout": "enforce timeout (s)",
    "probe_timeout": "probe timeout (s)",
    "dns_timeout": "DNS timeout (s)",
    "simulate_delay": "simulated enforcement delay (s)",
    "simulate_faults": "simulated faults",
    "weakened": "checks switched off",
}


def _option_text(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, "", [], {}))
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


def _metadata(before: RunRecord, after: RunRecord) -> Iterable[MetadataChange]:
    fields = {
        "CNI": lambda r: r.cni.name,
        "CNI version": lambda r: r.cni.version,
        "deny style": lambda r: r.cni.deny_style if r.cni.enforces else "none",
        "Kubernetes version": lambda r: r.cluster.kubernetes_version,
        "cluster kind": lambda r: r.cluster.kind,
        "suite version": lambda r: r.suite_version,
        "run status": lambda r: r.status,
    }
    for option, name in VERDICT_OPTIONS.items():
        fields[name] = lambda r, o=option: _option_text(r.options.get(o))
    for name, get in fields.items():
        b, a = get(before), get(after)
        if b != a:
            yield MetadataChange(name, b or "(none)", a or "(none)")


def compare(
    before: RunRecord,
    after: RunRecord,
    threshold: float = DEFAULT_ENFORCE_THRESHOLD,
    allow_missing: bool = False,
) -> Comparison:
    """Everything that differs from ``before`` to ``after``; ``threshold`` in seconds; with
    ``allow_missing``, probes the after run did not make do not gate."""
    changes, compared = _probe_changes(before, after, allow_missing)
    return Comparison(
        probes=tuple(changes),
        enforcement=tuple(_enforcement(before, after, threshold)),
        metadata=tuple(_metadata(before, after)),
        compared=compared,
        threshold=threshold,
        inconsistent=tuple(
            f"{side}: {line}"
            for side, run in (("before", before), ("after", after))
            for line in run.inconsistent
        ),
        unfinished=_unfinished(after),
    )


def _unfinished(run: RunRecord) -> str:
    if run.status not in UNFINISHED:
        return ""
    if run.lost:
        why = next(iter(run.lost.values()))
        return f"the after run is incomplete: {', '.join(run.lost)} lost ({why})"
    return f"the after run did not finish ({run.status}{': ' + run.error if run.error else ''})"
