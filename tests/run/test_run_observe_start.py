"""Where a probe's history starts after a change: from the verdict it last showed, unless it
flapped (its last poll may have caught a moment's opening), then from what its state allows."""

from __future__ import annotations

from typing import Any, cast

from netpol_conformance.probe.outcome import ALLOW, DENY, Observation, Outcome
from netpol_conformance.probe.spec import Probe
from netpol_conformance.run.convergence import Convergence, first_unexplained
from netpol_conformance.run.observe import Observer
from netpol_conformance.run.options import RunOptions

STEADY = Probe("frontend/web", "tcp", "backend/db", 5432, "TCP")
FLAPPED = Probe("production/web", "udp", "backend/db", 53, "UDP")
OPEN = Observation(Outcome.CONNECTED, "")
REFUSED = Observation(Outcome.REFUSED, "Connection refused")


def observer() -> Observer:
    return Observer(cast(Any, None), cast(Any, None), RunOptions())


def previous_step(flapped: bool) -> Convergence[Probe]:
    """A denied step whose last poll saw both probes open (a deviation held, or a flap)."""
    state: Convergence[Probe] = Convergence()
    state.polls = [{STEADY: OPEN, FLAPPED: REFUSED}, {STEADY: OPEN, FLAPPED: OPEN}]
    if flapped:
        state.flapped = {FLAPPED: 1}
    return state


def test_a_probe_that_flapped_starts_the_next_change_from_its_states_verdict() -> None:
    obs = observer()
    obs._remember(previous_step(flapped=True))
    assert obs.last_verdicts == {STEADY: ALLOW}  # held open throughout: where it starts
    # the next change deletes the deny: each walk starts from the state before it (denied)
    before = {STEADY: False, FLAPPED: False}
    paths = obs._paths(cast(Any, _Plan()), [before], enforces=True)
    assert paths == {STEADY: [ALLOW], FLAPPED: [DENY]}
    # the first poll, before the deletion took effect, still refuses: explained
    assert first_unexplained([DENY, ALLOW, ALLOW], ALLOW, paths[FLAPPED]) is None


def test_without_that_the_same_refusal_would_be_called_flapping() -> None:
    obs = observer()
    obs._remember(previous_step(flapped=False))
    paths = obs._paths(cast(Any, _Plan()), [{STEADY: False, FLAPPED: False}], enforces=True)
    assert paths is not None and paths[FLAPPED] == [ALLOW]
    assert first_unexplained([DENY, ALLOW, ALLOW], ALLOW, paths[FLAPPED]) == 0


class _Plan:
    expected = {STEADY: Outcome.CONNECTED, FLAPPED: Outcome.CONNECTED}
