"""compare(): what got worse, better, or merely changed between two runs."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from report_runs import EXTERNAL_HOST, PODS, STEPS, allowed, blocks, make_run, no_enforcement_on
from report_strategies import runs

from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.probe.spec import Probe
from netpol_conformance.results.compare import (
    ORDER,
    Change,
    Side,
    StepKey,
    classify,
    compare,
)
from netpol_conformance.results.records import RunRecord

S1 = "1-default-deny-ingress"
S2 = "2-allow-frontend-to-db"


def _labels(changes) -> list[str]:
    return [c.label for c in changes]


def test_a_run_compared_with_itself_has_no_difference() -> None:
    run = make_run()
    c = compare(run, run)
    assert (c.probes, c.enforcement, c.metadata) == ((), (), ())
    assert c.compared == sum(len(s.probes) for s in run.steps) and c.exit_code == 0


@settings(max_examples=60, deadline=None)
@given(runs)
def test_any_run_compared_with_itself_has_no_difference(run: RunRecord) -> None:
    c = compare(run, run)
    assert (c.probes, c.enforcement, c.metadata) == ((), (), ())
    # ... and passes, unless the run did not finish: an unfinished run never passes a gate
    assert c.exit_code == (1 if run.status in ("error", "interrupted", "incomplete") else 0)
    assert bool(c.unfinished) == (c.exit_code == 1)


def test_a_fault_lists_exactly_the_regressed_probes_with_leaks_first() -> None:
    before = make_run()
    gone = {"frontend/web->backend/db:5432/TCP"}
    broken = make_run(
        fault=lambda s, p, want: (
            no_enforcement_on(S1, "frontend/admin")(s, p, want) or blocks(S2, gone)(s, p, want)
        )
    )
    c = compare(before, broken)
    # frontend/admin reaches every backend pod on both ports in step 1: 3 pods x 2 ports.
    expected_leaks = [
        f"frontend/admin->backend/{pod}:{port}/TCP"
        for pod in ("db", "cache", "web")
        for port in (80, 5432)
    ]
    assert _labels(c.leaks) == expected_leaks
    assert {ch.step.scenario for ch in c.leaks} == {S1}
    assert [(ch.step.scenario, ch.label) for ch in c.regressions] == [(S2, next(iter(gone)))]
    assert [ch.kind for ch in c.probes] == [Change.LEAK] * 6 + [Change.REGRESSION]
    assert c.exit_code == 1


def test_a_rejecting_cni_against_one_that_does_not_enforce_leaks_every_deny() -> None:
    kube_router = make_run(cni="kube-router", deny_style="reject", version="v2.1.0")
    bridge = make_run(cni="bridge", enforces=False, version="")
    c = compare(kube_router, bridge)
    denies = {
        (step.scenario, record.probe.label)
        for step in kube_router.steps
        for record in step.probes
        if not allowed(STEPS[step.scenario], record.probe)
    }
    assert denies and {(ch.step.scenario, ch.label) for ch in c.leaks} == denies
    assert len(c.probes) == len(denies)  # bridge meets its own (non-enforcing) expectation
    assert {m.field for m in c.metadata} >= {"CNI", "CNI version", "deny style"}


def test_a_changed_deny_style_is_a_category_change_not_a_regression() -> None:
    calico = make_run(scenarios=(S1,))
    rejecting = make_run(scenarios=(S1,), deny_style="reject")
    c = compare(calico, rejecting)
    assert c.probes and {ch.kind for ch in c.probes} == {Change.CATEGORY}
    first = c.probes[0]
    assert first.before.category is Outcome.TIMEOUT and first.after.category is Outcome.REFUSED
    assert c.exit_code == 0


def test_a_fix_is_listed_and_does_not_gate() -> None:
    label = "frontend/web->backend/db:5432/TCP"
    c = compare(make_run(fault=blocks(S2, {label})), make_run())
    assert [(ch.kind, ch.label) for ch in c.probes] == [(Change.FIX, label)]
    assert c.exit_code == 0


def test_time_to_enforce_changes_beyond_the_threshold_only() -> None:
    before = make_run(time_to_enforce={S1: 1.0, S2: 1.0})
    after = make_run(time_to_enforce={S1: 2.5, S2: 4.5})
    c = compare(before, after, threshold=2.0)
    assert [(str(e.step), e.delta) for e in c.enforcement] == [(S2, 3.5)]
    assert compare(before, after, threshold=0.5).enforcement[0].step.scenario == S1
    assert c.exit_code == 0


def test_a_step_that_no_longer_converges_is_an_enforcement_change() -> None:
    c = compare(make_run(), make_run(fault=blocks(S2, {"frontend/web->backend/db:5432/TCP"})))
    assert [(e.step.scenario, e.before, e.after) for e in c.enforcement] == [(S2, 1.4, None)]


def test_new_probes_do_not_gate_and_missing_ones_do_unless_allowed() -> None:
    short = make_run(scenarios=(S1,))
    longer = make_run(scenarios=(S1, S2))
    c = compare(short, longer)
    assert {ch.kind for ch in c.probes} == {Change.ONLY_AFTER}
    assert {ch.step.scenario for ch in c.probes} == {S2} and c.exit_code == 0
    # A later run that checked less must not pass the gate on what it did not look at.
    narrowed = compare(longer, short)
    assert {ch.kind for ch in narrowed.probes} == {Change.MISSING}
    assert narrowed.exit_code == 1 and len(narrowed.missing) == len(narrowed.probes) > 0
    assert all(ch.note == "not probed after" for ch in narrowed.probes)
    allowed = compare(longer, short, allow_missing=True)
    assert {ch.kind for ch in allowed.probes} == {Change.ONLY_BEFORE} and allowed.exit_code == 0


def test_probes_lost_to_a_failed_set_up_are_regressions() -> None:
    c = compare(make_run(), make_run(setup_errors={S2: "pods did not start"}))
    assert {ch.kind for ch in c.probes} == {Change.REGRESSION}
    assert (
        len(c.probes) == 105
        and c.probes[0].note == "not observed: set-up failed: pods did not start"
    )


def test_probes_lost_to_an_interrupted_run_are_regressions() -> None:
    after = replace(make_run(scenarios=(S1,)), status="interrupted")
    c = compare(make_run(scenarios=(S1, S2)), after)
    assert {ch.kind for ch in c.probes} == {Change.REGRESSION} and c.exit_code == 1


def test_metadata_changes() -> None:
    c = compare(make_run(), make_run(version="v3.30.0", kubernetes="v1.35.0"))
    assert [(m.field, m.before, m.after) for m in c.metadata] == [
        ("CNI version", "v3.29.3", "v3.30.0"),
        ("Kubernetes version", "v1.34.4", "v1.35.0"),
    ]


def test_an_expected_deviation_does_not_gate() -> None:
    label = f"backend/db->{EXTERNAL_HOST}:80/TCP"
    fault = no_enforcement_on("3-default-deny-egress", "backend/db")
    after = make_run(fault=fault, deviations={label: "known: host firewall"})
    c = compare(make_run(), after)
    assert [(ch.kind, ch.label, ch.note) for ch in c.of(Change.DEVIATION)] == [
        (Change.DEVIATION, label, "known: host firewall")
    ]
    assert label not in _labels(c.leaks) and c.leaks  # the unlisted ones still leak


def test_a_step_applied_twice_is_compared_occurrence_by_occurrence() -> None:
    run = make_run(scenarios=(S1,))
    twice = replace(run, steps=(run.steps[0], replace(run.steps[0], time_to_enforce=9.0)))
    c = compare(twice, replace(twice, steps=(twice.steps[0], run.steps[0])))
    assert [(e.step, e.before, e.after) for e in c.enforcement] == [(StepKey(S1, S1, 1), 9.0, 1.4)]


# --- classify: one probe, every rule ------------------------------------------------------------

T, C, R = Outcome.TIMEOUT, Outcome.CONNECTED, Outcome.REFUSED


def side(expected: Outcome, seen: Outcome | None, deviation: str = "") -> Side:
    observed = Observation(seen) if seen else None
    return Side(expected, observed, seen is expected, deviation)


def test_classify() -> None:
    assert classify(side(T, T), side(T, C)) is Change.LEAK
    assert classify(side(T, T), side(C, C)) is Change.LEAK  # the after CNI does not enforce
    assert classify(side(T, C), side(T, C)) is None  # leaked before too: not new
    assert classify(side(C, C), side(C, T)) is Change.REGRESSION
    assert classify(side(C, C), side(C, Outcome.EXEC_ERROR)) is Change.REGRESSION
    assert classify(side(C, C), side(C, None)) is Change.REGRESSION
    assert classify(side(C, T), side(C, C)) is Change.FIX
    assert classify(side(T, T), side(R, R)) is Change.CATEGORY
    assert classify(side(C, T), side(C, R)) is Change.CATEGORY  # still failing, differently
    assert classify(side(T, T), side(T, C, "known")) is Change.DEVIATION
    assert classify(side(T, C, "known"), side(T, C, "known")) is None
    assert classify(side(T, C, "known"), side(T, T)) is Change.FIX
    assert classify(side(T, R, "known"), side(T, Outcome.EXEC_ERROR)) is Change.REGRESSION


# --- properties over faults ---------------------------------------------------------------------

_PROBES = [Probe(src, "tcp", dst, 80) for src in PODS[:4] for dst in PODS[:4] if src != dst]
faults = st.dictionaries(
    st.sampled_from([p.label for p in _PROBES]), st.sampled_from(list(Outcome)), max_size=8
)


def _faulty(mapping: dict[str, Outcome]) -> RunRecord:
    return make_run(
        scenarios=(S1, S2),
        fault=lambda s, p, want: mapping.get(p.label) if s == S1 else None,
    )


@settings(max_examples=40, deadline=None)
@given(faults, faults)
def test_changes_are_ordered_leaks_first_and_each_probe_once(
    before: dict[str, Outcome], after: dict[str, Outcome]
) -> None:
    c = compare(_faulty(before), _faulty(after))
    ranks = [ORDER[ch.kind] for ch in c.probes]
    assert ranks == sorted(ranks)
    assert len({(ch.step, ch.label) for ch in c.probes}) == len(c.probes)
    assert c.exit_code == (1 if c.leaks or c.regressions else 0)
    changed = {label for label in set(before) | set(after) if before.get(label) != after.get(label)}
    assert {ch.label for ch in c.probes} <= changed
