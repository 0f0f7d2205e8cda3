"""The gate's verdict: leaks, disruptions over the limit, broken held connections, the compare."""

from __future__ import annotations

import dataclasses

from upgrade_records import connection, leak, probe, upgrade

from netpol_conformance.results.compare import Change, Comparison, ProbeChange, StepKey
from netpol_conformance.results.upgrade import Window
from netpol_conformance.upgrade.gate import gate

NOTHING = Comparison(probes=(), enforcement=(), metadata=(), compared=10, threshold=2.0)


def test_a_quiet_upgrade_passes() -> None:
    result = gate(upgrade(), NOTHING)
    assert result.passed and result.exit_code == 0 and result.reasons == ()


def test_a_leak_of_a_gated_denied_probe_fails_and_says_when_the_first_was() -> None:
    result = gate(upgrade(probes=(probe(), leak())), NOTHING)
    assert result.exit_code == 1
    assert result.reasons == ("1 denied probe got through (3 samples, the first at +0.20 s)",)


def test_a_probe_not_as_expected_before_the_upgrade_does_not_decide() -> None:
    assert gate(upgrade(probes=(probe(), leak(gated=False))), NOTHING).passed


def test_a_disruption_passes_up_to_the_limit_and_fails_beyond_it() -> None:
    within = probe(windows=(Window(0.0, 2.0, 4),))
    beyond = probe(windows=(Window(0.0, 2.5, 5),))
    assert gate(upgrade(probes=(within,)), NOTHING).passed
    (reason,) = gate(upgrade(probes=(beyond,)), NOTHING).reasons
    assert reason.endswith("was disrupted for 2.50 s (limit 2 s, --max-disruption)")


def test_a_disruption_that_never_ended_fails_whatever_its_length() -> None:
    open_window = probe(windows=(Window(19.5, 20.0, 1, "timeout", ended=False),))
    (reason,) = gate(upgrade(probes=(open_window,)), NOTHING).reasons
    assert "still disrupted when probing stopped (since +19.50 s)" in reason


def test_held_connections_must_survive_and_stall_no_longer_than_their_limit() -> None:
    broken = connection(broken=True, reason="closed at +0.30 s")
    stalled = connection(stalls=(Window(0.5, 3.5, 1),))
    assert gate(upgrade(connections=(broken,)), NOTHING).reasons == (
        "the held connection frontend/web->backend/db:5432/TCP broke: closed at +0.30 s",
    )
    (reason,) = gate(upgrade(connections=(stalled,)), NOTHING).reasons
    assert "stalled for 3.00 s (limit 2 s, --max-disruption-established)" in reason


def test_a_failed_command_and_a_cni_not_ready_fail() -> None:
    reasons = gate(upgrade(exit_code=3, ready=False), NOTHING).reasons
    assert reasons[0] == "the upgrade command: exit 3"
    assert reasons[1].startswith("the CNI was not Ready again")
    assert gate(upgrade(exit_code=None), NOTHING).reasons == (
        "the upgrade command: stopped at its timeout",
    )
    timed_out = upgrade(exit_code=None, command_outcome="timed out after 5 s (the command stopped)")
    assert gate(timed_out, NOTHING).reasons == (
        "the upgrade command: timed out after 5 s (the command stopped)",
    )


def test_the_suite_after_the_upgrade_gates_through_the_compare() -> None:
    change = ProbeChange(Change.REGRESSION, StepKey("5-production-isolation", "5"), "x", None, None)
    regressed = dataclasses.replace(NOTHING, probes=(change,))
    assert gate(upgrade(), regressed).reasons == (
        "the suite after the upgrade: 0 leaks and 1 regression against the suite before it",
    )
    assert not gate(upgrade(), None).passed
