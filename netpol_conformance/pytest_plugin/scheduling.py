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

A worker that dies takes its scenarios' state (their namespaces, what they had observed) with
it. Its unfinished scopes are therefore not handed to another worker (xdist would also put
back its finished ones, which send no tests: nothing then asks for the next scope and the run
waits forever); each of their tests is reported as an error naming the crash, the scopes are
kept as lost (``LOST``: the results file's status becomes ``incomplete``), and every other
worker goes on with its own.
"""

from __future__ import annotations

import re

import pytest
from xdist.scheduler import LoadScopeScheduling
from xdist.workermanage import WorkerController

from netpol_conformance.plan.catalogue import BY_ID
from netpol_conformance.pytest_plugin.store import LOST
from netpol_conformance.scenarios import catalogue

_FIRST_PARAM = re.compile(r"::[^\[]*\[([^\]]*)\]")
_BY_LENGTH = sorted(BY_ID, key=len, reverse=True)


def scenario_scope(nodeid: str) -> str:
    """The scenario a test belongs to, or its module when it names none."""
    m = _FIRST_PARAM.search(nodeid)
    if m and m.group(1) in catalogue.BY_ID:  # a catalogue scenario's states run together
        return m.group(1)
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

    def remove_node(self, node: WorkerController) -> str | None:
        """A worker finished, or died: then report what it left undone, and hand out nothing
        of it again."""
        workload = self.assigned_work.pop(node)
        pending = [
            (scope, nodeid)
            for scope, unit in workload.items()
            for nodeid, done in unit.items()
            if not done
        ]
        if not pending:
            return None
        crashitem = pending[0][1]
        why = f"worker {node.gateway.id} crashed while running {crashitem}"
        lost = self.config.stash.setdefault(LOST, {})
        for scope, nodeid in pending:
            lost.setdefault(scope, why)
            if nodeid != crashitem:  # xdist reports the crashed test itself
                self._report_lost(nodeid, why)
        for other in self.assigned_work:
            self._reschedule(other)
        return crashitem

    def _report_lost(self, nodeid: str, why: str) -> None:
        path = nodeid.split("::")[0]
        report = pytest.TestReport(
            nodeid=nodeid,
            location=(path, None, nodeid),
            keywords={},
            outcome="failed",
            longrepr=f"not run: {why}; its scenario's state went with that worker",
            when="setup",  # an error, not a failure: the test never ran
        )
        self.config.hook.pytest_runtest_logreport(report=report)

    def _assign_work_unit(self, node: WorkerController) -> None:
        """As xdist does, but never a unit with nothing left to run: sending no tests would
        leave the node waiting for work that nothing asks for."""
        while self.workqueue:
            scope, unit = next(iter(self.workqueue.items()))
            if any(not done for done in unit.values()):
                super()._assign_work_unit(node)
                return
            del self.workqueue[scope]
        node.shutdown()
