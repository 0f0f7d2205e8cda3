"""The tutorial's "Common Mistakes", each shown on a live cluster."""

import pytest

from netpol_conformance.plugin import check_cell
from netpol_conformance.tutorial.scenarios import BY_ID


@pytest.mark.netpol_group("mistake")
def test_mistake(request, tutorial_case, scenario_book, scenario_report):
    """Each mistake's policies produce exactly the (unwanted) connectivity the table predicts."""
    report = scenario_report(tutorial_case.scenario)
    check_cell(request, scenario_book, report, tutorial_case)


@pytest.mark.parametrize("scenario", [BY_ID["or-instead-of-and"]], ids=lambda s: s.id)
def test_or_variant_lets_more_in_than_and(scenario, scenario_report, netpol_settings):
    """Writing step 2's peers as two list items (OR) admits pods the AND version keeps out."""
    and_report = scenario_report(BY_ID["2-allow-frontend-to-db"])
    or_report = scenario_report(scenario)
    differs = sorted(
        p.label
        for p in and_report.expected
        if p in or_report.expected
        and and_report.state.last[p].outcome != or_report.state.last[p].outcome
    )
    if not netpol_settings.profile.enforces:
        assert differs == [], f"{netpol_settings.profile.name} enforces nothing, yet: {differs}"
        return
    assert differs == [
        "backend/web->backend/db:5432/TCP",
        "frontend/admin->backend/db:5432/TCP",
    ], f"AND vs OR should differ exactly for frontend/admin and backend/web; got {differs}"
