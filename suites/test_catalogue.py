"""The catalogue: every connectivity spec of Kubernetes' own NetworkPolicy e2e tests, and what
they miss, as scenarios of states over namespaces x, y and z with pods a, b and c.

Each state of a scenario is one test, named by the scenario (which names the upstream spec it
mirrors) and the state:

    test_catalogue[upstream-17-named-port-ingress][allow-named-port]

A state passes when every probe of its matrix (every two different pods, on the scenario's
ports) shows exactly the outcome its hand-written table predicts.
"""


def test_catalogue(catalogue_case, netpol_catalogue_check):
    """After the scenario's changes up to this state, every probe shows exactly its outcome."""
    netpol_catalogue_check(catalogue_case)
