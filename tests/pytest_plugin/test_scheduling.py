"""Every test of a scenario is scheduled on one worker: its scope is the scenario."""

import pytest

from netpol_conformance.pytest_plugin.scheduling import scenario_scope


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
            "suites/test_mistakes.py::test_mistake[or-instead-of-and][x->y:80/TCP=connected]",
            "or-instead-of-and",
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
