"""Where a probe's history starts after a change: from the verdict it last showed, and from
what the state before allows, in that order. The last observation may not be what the
dataplane held: a flap caught open in the last poll, or a state the CNI had not converged to."""

from __future__ import annotations

from typing import Any, cast

from netpol_conformance.probe.outcome import ALLOW, DENY, Observation, Outcome
from netpol_conformance.probe.spec import Probe
from netpol_conformance.run.convergence import Convergence, first_unexplained
from netpol_conformance.run.observe import Observer
from netpol_conformance.run.options import RunOptions

PROBE = Probe("production/web", "udp", "backend/db", 53, "UDP")
OPEN = Observation(Outcome.CONNECTED, "")
REFUSED = Observation(Outcome.REFUSED, "Connection refused")


class _Plan:
    expected = {PROBE: Outcome.CONNECTED}


def walk(last: Observation, before_allows: bool) -> list[str]:
    obs = Observer(cast(Any, None), cast(Any, None), RunOptions())
    state: Convergence[Probe] = Convergence()
    state.polls = [{PROBE: REFUSED}, {PROBE: last}]
    obs._remember(state)
    paths = obs._paths(cast(Any, _Plan()), [{PROBE: before_allows}], enforces=True)
    assert paths is not None
    return paths[PROBE]


def test_a_flap_caught_open_in_the_last_poll_still_starts_from_the_state_before() -> None:
    # a deny in force, its last poll caught open by a flap; the deny is deleted: the first poll
    # after the deletion, before it lands, is refused: the state before, not a flap
    path = walk(OPEN, before_allows=False)
    assert path == [ALLOW, DENY]
    assert first_unexplained([DENY, ALLOW, ALLOW], ALLOW, path) is None


def test_a_state_the_dataplane_never_reached_starts_from_what_it_showed() -> None:
    # the policies allowed it, the CNI denied it (a deviation): the next change, which allows
    # it, may first show the deny it held
    path = walk(REFUSED, before_allows=True)
    assert path == [DENY, ALLOW]
    assert first_unexplained([DENY, ALLOW, ALLOW], ALLOW, path) is None


def test_a_cell_that_opens_after_the_change_and_closes_again_is_still_flapping() -> None:
    path = walk(REFUSED, before_allows=False)
    assert path == [DENY]
    # the change ends allowed: open, then refused again, is no order of the states
    assert first_unexplained([DENY, ALLOW, DENY], ALLOW, path, pinned_from=1) == 2
