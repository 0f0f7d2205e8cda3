"""xdist scheduling by scenario: every test of one scenario runs on the same worker.

A scenario's namespaces are built once per worker, so splitting its tests across workers
would build them several times. Tests name their scenario first in their id
(``test_step[2-allow-frontend-to-db][...]``); tests without one are grouped by module. A
scenario that another one's tests read too (``Scenario.runs_with``) shares that one's scope.
(xdist's own ``loadgroup`` relies on rewriting node ids, which current pytest no longer
allows.)

Scopes are handed out in the collection's order (see ``cases.order_and_select``: the longest
sequences first), not xdist's default of the most tests first: a scope's cost is the scenario
activations it needs, not its number of tests, and the walkthrough (one test, six activations)
left for last kept one worker busy long after the other had finished.
"""

from __future__ import annotations

import re

from xdist.scheduler import LoadScopeScheduling

from netpol_conformance.plan.catalogue import BY_ID

_FIRST_PARAM = re.compile(r"::[^\[]*\[([^\]]*)\]")
_BY_LENGTH = sorted(BY_ID, key=len, reverse=True)


def scenario_scope(nodeid: str) -> str:
    """The scenario a test belongs to, or its module when it names none."""
    m = _FIRST_PARAM.search(nodeid)
    if m:
        for sid in _BY_LENGTH:
            if m.group(1).startswith(sid):
                return BY_ID[sid].runs_with or sid
    return nodeid.split("::", 1)[0]


class ScenarioScheduling(LoadScopeScheduling):
    def _split_scope(self, nodeid: str) -> str:
        return scenario_scope(nodeid)

    def schedule(self) -> None:
        if self.collection is None:  # the first, initial distribution
            self.config.option.loadscopereorder = False
        super().schedule()
