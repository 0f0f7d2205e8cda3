"""The tutorial's "Common Mistakes", each shown on a live cluster."""

import pytest

from netpol_conformance.probe.outcome import Outcome

GOT_THROUGH = (Outcome.CONNECTED, Outcome.DNS_OK)


@pytest.mark.netpol_group("mistake")
def test_mistake(tutorial_case, netpol_check):
    """Each mistake's policies produce exactly the (unwanted) connectivity the table predicts."""
    netpol_check(tutorial_case)


@pytest.mark.parametrize("scenario", ["or-instead-of-and"])
def test_or_variant_lets_more_in_than_and(scenario, netpol_result, netpol_settings):
    """Writing step 2's peers as two list items (OR) admits pods the AND version keeps out.

    Compared as allowed/blocked: how a CNI blocks (drop or reject) is not the difference."""
    and_result = netpol_result("2-allow-frontend-to-db")
    or_result = netpol_result(scenario)

    def through(result):
        return {
            r.probe.label: bool(r.observed and r.observed.outcome in GOT_THROUGH)
            for r in result.probes
        }

    and_through, or_through = through(and_result), through(or_result)
    differs = sorted(label for label in and_through if and_through[label] != or_through[label])
    if not netpol_settings.profile.enforces:
        assert differs == [], f"{netpol_settings.profile.name} enforces nothing, yet: {differs}"
        return
    assert differs == [
        "backend/web->backend/db:5432/TCP",
        "frontend/admin->backend/db:5432/TCP",
    ], f"AND vs OR should differ exactly for frontend/admin and backend/web; got {differs}"
