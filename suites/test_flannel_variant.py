"""With a CNI that does not enforce NetworkPolicy (Flannel, a plain bridge), the tutorial's
policies are accepted by the API server and change nothing: every probe that the tutorial
expects to be dropped connects. This file says so plainly, step by step."""

import pytest

from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.tutorial.scenarios import STEPS

pytestmark = pytest.mark.cni("flannel", "bridge")


@pytest.mark.parametrize(
    "scenario",
    [pytest.param(s, id=s.id) for s in STEPS[1:]],
)
def test_policies_are_not_enforced(scenario, scenario_report, netpol_settings):
    """Every connection this step's policies deny still gets through."""
    report = scenario_report(scenario)
    denied = [p for p in report.expected if not scenario.expect_allowed(p.source, p.target, p.port)]
    assert denied, f"{scenario.id} denies nothing: the scenario table is wrong"
    blocked = [
        f"{p.label}: {report.state.last[p]}"
        for p in denied
        if report.state.last[p].outcome not in (Outcome.CONNECTED, Outcome.DNS_OK)
    ]
    assert not blocked, (
        f"{netpol_settings.profile.name} is not supposed to enforce NetworkPolicy, yet "
        f"{len(blocked)} of {len(denied)} denied probes were blocked:\n  " + "\n  ".join(blocked)
    )
