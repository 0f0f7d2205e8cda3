"""The tutorial "Configuring NetworkPolicies to Isolate Namespaces", step by step.

Each step is applied from the open state (the policies of steps 1 up to it), and every probe
of the step's matrix is one test, named like the tutorial reads:

    test_step[2-allow-frontend-to-db][frontend/web->backend/db:5432/TCP=connected]
"""

import pytest


@pytest.mark.netpol_group("step")
def test_step(tutorial_case, netpol_check):
    """After the tutorial is applied up to this step, this probe shows exactly this outcome."""
    netpol_check(tutorial_case)
