"""Every test of a scenario is scheduled on one worker: its scope is the scenario."""

from types import SimpleNamespace
from typing import Any

import pytest

from netpol_conformance.pytest_plugin.scheduling import ScenarioScheduling, scenario_scope


@pytest.mark.parametrize(
    ("nodeid", "scope"),
    [
        (
            "suites/test_tutorial.py::test_step[2-allow-frontend-to-db]"
            "[frontend/web->backend/db:5432/TCP=connected]",
            "2-allow-frontend-to-db",
        ),
        (
            "suites/test_verify.py::test_policies_are_listed[5-production-isolation-backend-names0]",
            "5-production-isolation",
        ),
        (
            "suites/test_mistakes.py::test_mistake[forgot-dns-egress][x->y:80/TCP=connected]",
            "forgot-dns-egress",
        ),
        (  # its tests read step 2 too: one worker puts both in force, each once
            "suites/test_mistakes.py::test_mistake[or-instead-of-and][x->y:80/TCP=connected]",
            "2-allow-frontend-to-db",
        ),
        (
            "suites/test_mistakes.py::test_or_variant_lets_more_in_than_and[or-instead-of-and]",
            "2-allow-frontend-to-db",
        ),
        ("suites/test_walkthrough.py::test_walkthrough", "suites/test_walkthrough.py"),
        ("suites/test_x.py::test_y[not-a-scenario]", "suites/test_x.py"),
    ],
)
def test_scope_is_the_scenario_named_first(nodeid: str, scope: str) -> None:
    assert scenario_scope(nodeid) == scope


def test_step_ids_that_share_a_prefix_are_not_confused() -> None:
    # "1-default-deny-ingress" must not be read as a shorter id that it starts with.
    nodeid = "suites/test_tutorial.py::test_step[1-default-deny-ingress][a->b:80/TCP=timeout]"
    assert scenario_scope(nodeid) == "1-default-deny-ingress"


class Worker:
    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.sent: list[int] = []
        self.shutting_down = False

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent += indexes

    def shutdown(self) -> None:
        pass


class Config:
    def __init__(self) -> None:
        self.option = SimpleNamespace(tx=["2*popen"], loadscopereorder=True, maxschedchunk=None)

    def getvalue(self, name: str) -> Any:
        return getattr(self.option, name)


def test_scopes_are_handed_out_in_collection_order_not_by_test_count() -> None:
    """The walkthrough (one test, many activations) must start first, not after the scopes
    with the most tests."""
    collection = [
        "suites/test_walkthrough.py::test_walkthrough",
        *(f"suites/test_tutorial.py::test_step[1-default-deny-ingress][p{i}]" for i in range(5)),
        *(f"suites/test_tutorial.py::test_step[2-allow-frontend-to-db][p{i}]" for i in range(9)),
        *(f"suites/test_tutorial.py::test_step[3-default-deny-egress][p{i}]" for i in range(7)),
    ]
    sched = ScenarioScheduling(Config())  # type: ignore[arg-type]
    a, b = Worker("gw0"), Worker("gw1")
    for w in (a, b):
        sched.add_node(w)  # type: ignore[arg-type]
        sched.add_node_collection(w, collection)  # type: ignore[arg-type]
    sched.schedule()
    first = {w.gateway.id: scenario_scope(collection[w.sent[0]]) for w in (a, b)}
    assert first["gw0"] == "suites/test_walkthrough.py"
    assert first["gw1"] == "1-default-deny-ingress"
