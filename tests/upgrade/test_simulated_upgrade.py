"""The simulated cluster's upgrade: its fault schedule, played on the probes the suite sends."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from netpol_conformance.cni import profile
from netpol_conformance.errors import UsageError
from netpol_conformance.plan.catalogue import FINAL_STATE
from netpol_conformance.plan.layout import load_layout
from netpol_conformance.plan.plan import SuitePlan, build_plan
from netpol_conformance.probe.commands import ProbeSettings
from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.probe.runner import ProbeRunner
from netpol_conformance.run.options import RunOptions
from netpol_conformance.run.scenarios import ScenarioRunner
from netpol_conformance.sim.cluster import SimulatedCluster
from netpol_conformance.sim.faults import Faults
from netpol_conformance.upgrade.held_runner import HeldConnections
from netpol_conformance.upgrade.live_set import LiveProbe, held_paths, live_probes
from netpol_conformance.upgrade.prober import ContinuousProber
from netpol_conformance.upgrade.simulated import SimulatedUpgrade, UpgradeFaults, split_faults


def test_upgrade_faults_are_split_from_the_suites_own() -> None:
    got = split_faults(
        "block-dns, leak-during-upgrade:3,outage-during-upgrade:0.5,reset-during-upgrade"
    )
    assert got == (UpgradeFaults(leak=3.0, outage=0.5, reset=True), "block-dns")
    assert split_faults("") == (UpgradeFaults(), "")


@pytest.mark.parametrize(
    "spec",
    [
        "leak-during-upgrade",
        "leak-during-upgrade:0",
        "outage-during-upgrade:x",
        "reset-during-upgrade:1",
    ],
)
def test_bad_upgrade_faults_are_usage_errors(spec: str) -> None:
    with pytest.raises(UsageError):
        split_faults(spec)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


Deployed = tuple[SimulatedUpgrade, Clock, ScenarioRunner, SuitePlan]


@pytest.fixture
def deployed() -> Callable[..., Deployed]:
    """A simulated cluster with an upgrade schedule, the final state in force on it."""

    def make(faults: UpgradeFaults, after: Faults | None = None) -> Deployed:
        clock = Clock()
        cluster = SimulatedCluster(profile("calico"), Faults(), enforcement_delay=0.0)
        sim = SimulatedUpgrade(cluster, faults, after or Faults(), clock)
        plan = build_plan(load_layout(), profile("calico"), has_external=True)
        runner = ScenarioRunner(sim, plan, RunOptions(poll_interval=0.01), "t", "t", print)
        runner.activate(FINAL_STATE)
        return sim, clock, runner, plan

    return make


def _observe(
    sim: SimulatedUpgrade, runner: ScenarioRunner, plan: SuitePlan
) -> dict[LiveProbe, Observation]:
    live = live_probes(plan[FINAL_STATE])
    targets = [runner.deployment.target(lp.probe) for lp in live]
    observed = ProbeRunner(sim, ProbeSettings()).run(targets)
    return {lp: observed[lp.probe] for lp in live}


def test_a_leak_window_lets_every_denied_probe_through_then_ends(
    deployed: Callable[..., Deployed],
) -> None:
    sim, clock, runner, plan = deployed(UpgradeFaults(leak=3.0))
    sim.begin()
    clock.now += 1.0
    sim.end()
    leaking = _observe(sim, runner, plan)
    assert all(o.outcome in (Outcome.CONNECTED, Outcome.DNS_OK) for o in leaking.values())
    assert not sim.ready()
    clock.now += 2.5
    after = _observe(sim, runner, plan)
    assert all(o.outcome is lp.expected for lp, o in after.items())
    assert sim.ready()
    assert [(e.at - 1_000.0, e.event) for e in sim.events()] == [
        (0.0, "rules-flushed"),
        (1.0, "new-version"),
        (3.0, "rules-restored"),
    ]
    sim.close()


def test_an_outage_times_every_probe_out(deployed: Callable[..., Deployed]) -> None:
    sim, clock, runner, plan = deployed(UpgradeFaults(outage=2.0))
    sim.begin()
    sim.end()
    dropped = _observe(sim, runner, plan)
    assert {o.outcome for o in dropped.values()} == {Outcome.TIMEOUT, Outcome.DNS_FAIL}
    clock.now += 2.0
    assert all(o.outcome is lp.expected for lp, o in _observe(sim, runner, plan).items())
    sim.close()


def test_the_new_versions_faults_hold_from_the_commands_end(
    deployed: Callable[..., Deployed],
) -> None:
    sim, _, runner, plan = deployed(UpgradeFaults(), Faults(block_dns=True))
    sim.begin()
    before = _observe(sim, runner, plan)
    assert all(o.outcome is lp.expected for lp, o in before.items())
    sim.end()
    dns = [o.outcome for lp, o in _observe(sim, runner, plan).items() if lp.probe.kind == "dns"]
    assert set(dns) == {Outcome.DNS_FAIL}
    sim.close()


def _wait(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the simulated held connections did not get there"
        time.sleep(0.02)


def test_held_connections_stall_through_an_outage_and_close_on_a_reset(
    deployed: Callable[..., Deployed],
) -> None:
    sim, clock, runner, plan = deployed(UpgradeFaults(outage=5.0, reset=True))
    paths = held_paths(plan[FINAL_STATE], runner.deployment.pods)
    held = HeldConnections(sim, [runner.deployment.target(p) for p in paths], 0.5, clock=clock)
    held.open()
    for n in (1, 2, 3):
        _wait(lambda n=n: all(len(log.round_trips) >= n for log in held.read().values()))
        clock.now += 0.5
    answered = {p: len(log.round_trips) for p, log in held.read().items()}
    assert all(n >= 2 for n in answered.values())
    began = clock.now  # the beat due now may still be answered: the outage starts after it
    sim.begin()
    clock.now += 1.0
    _wait(lambda: all(log.closed_at is not None for log in held.read().values()))
    logs = held.read()
    assert all(log.closed_at == pytest.approx(clock.now - 1.0, abs=0.01) for log in logs.values())
    # nothing is answered through the outage: every round trip ended before it began
    assert all(a <= began + 0.01 for log in logs.values() for _, a in log.round_trips)
    assert all(len(logs[p].round_trips) >= answered[p] for p in logs)
    sim.close()


def test_the_prober_stamps_each_round_with_the_pods_clock(
    deployed: Callable[..., Deployed],
) -> None:
    sim, _, runner, plan = deployed(UpgradeFaults())
    sim.clock = time.time  # real time: the prober's rounds are paced by it
    live = live_probes(plan[FINAL_STATE])
    targets = [runner.deployment.target(lp.probe) for lp in live]
    prober = ContinuousProber(sim, ProbeSettings(), targets, 0.05)
    prober.start()
    _wait(lambda: prober.rounds() >= 3)
    prober.stop()
    samples = prober.samples()
    assert set(samples) == {lp.probe for lp in live}
    assert all(len(s) >= 3 for s in samples.values())
    for series in samples.values():
        times = [s.at for s in series]
        assert times == sorted(times)
        assert prober.started - 0.01 <= times[0] and times[-1] <= prober.stopped  # type: ignore[operator]
    assert len(prober.clocks) == 7 and all(c.known for c in prober.clocks.values())
    sim.close()
