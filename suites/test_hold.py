"""The tutorial's final state, held: in force and probed over and over for --hold seconds.

A step is confirmed for a few seconds after it converged; rules that vanish some time after
they took effect (an agent that garbage-collects what it should keep, a resync that drops a
chain), or enforcement that flaps slower than the confirmation, only show later. Any probe
that deviates during the hold fails it, with its time.
"""

import pytest

from netpol_conformance.plan.catalogue import FINAL_STATE as FINAL
from netpol_conformance.pytest_plugin.check import history_text


@pytest.mark.step5
@pytest.mark.parametrize("scenario", [FINAL])
def test_the_final_state_holds(scenario, netpol_hold, netpol_settings, record_property):
    """Every probe keeps its verdict while the final state is held."""
    held = netpol_hold(scenario)
    record_property("hold_s", netpol_settings.hold)
    record_property("hold_polls", held.polls)
    broken = [r for r in held.probes if not r.met]
    if broken:
        lines = [
            f"{len(broken)} of {len(held.probes)} probes did not hold during the "
            f"{netpol_settings.hold:g} s hold of {scenario}:"
        ]
        for r in broken[:15]:
            why = r.flap or f"expected {r.expected.value}, observed {r.observed}"
            lines += [
                f"  {r.probe.label}: {why}",
                f"    history: {history_text(r.history, held.poll_times)}",
                f"    probe:   {r.command}",
            ]
        if len(broken) > 15:
            lines.append(f"  ... and {len(broken) - 15} more")
        pytest.fail("\n".join(lines), pytrace=False)
