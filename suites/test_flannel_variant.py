"""With a CNI that does not enforce NetworkPolicy (Flannel, a plain bridge), the tutorial's
policies are accepted by the API server and change nothing: every probe that the tutorial
expects to be dropped connects. This file says so plainly, step by step."""

import pytest

from netpol_conformance.plan.catalogue import STEPS
from netpol_conformance.probe.outcome import Outcome

pytestmark = pytest.mark.cni("flannel", "bridge")


@pytest.mark.parametrize("scenario", [s.id for s in STEPS[1:]])
def test_policies_are_not_enforced(scenario, netpol_plan, netpol_result, netpol_settings):
    """Every connection this step's policies deny still gets through."""
    if netpol_plan[scenario].skip_reason:
        pytest.skip(netpol_plan[scenario].skip_reason)
    result = netpol_result(scenario)
    denied = [r for r in result.probes if not r.allowed]
    assert denied, f"{scenario} denies nothing: the scenario table is wrong"
    blocked = [
        f"{r.probe.label}: {r.observed}"
        for r in denied
        if r.observed is None or r.observed.outcome not in (Outcome.CONNECTED, Outcome.DNS_OK)
    ]
    assert not blocked, (
        f"{netpol_settings.profile.name} is not supposed to enforce NetworkPolicy, yet "
        f"{len(blocked)} of {len(denied)} denied probes were blocked:\n  " + "\n  ".join(blocked)
    )
