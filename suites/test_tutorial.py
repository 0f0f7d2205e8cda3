"""The tutorial "Configuring NetworkPolicies to Isolate Namespaces", step by step.

Each step gets its own namespaces, built from scratch up to that step, and every probe of the
step's matrix is one test, named like the tutorial reads:

    test_step[2-allow-frontend-to-db][frontend/web->backend/db:5432/TCP=connected]
"""

import pytest

from netpol_conformance.plugin import check_cell


@pytest.mark.netpol_group("step")
def test_step(request, tutorial_case, scenario_book, scenario_report):
    """After the tutorial is applied up to this step, this probe shows exactly this outcome."""
    report = scenario_report(tutorial_case.scenario)
    check_cell(request, scenario_book, report, tutorial_case)
