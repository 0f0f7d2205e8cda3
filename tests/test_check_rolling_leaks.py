"""scripts/check_rolling_leaks.py on a real upgrade-check of the two-node local cluster: kube-router
switched off on netpol-node, then six seconds later on netpol-node2 (`cni stop --node 1 && sleep 6
&& cni stop --node 2`). The captures (tests/captured/upgrade-two-nodes-switch-off*.json) are two
such runs' after.json, trimmed to step 5's TCP 80 probes (without their histories) and the live
probes."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from netpol_conformance.results.load import load_results
from netpol_conformance.results.records import RunRecord

ROOT = Path(__file__).resolve().parents[1]
CAPTURE = ROOT / "tests" / "captured" / "upgrade-two-nodes-switch-off.json"
# a second run, in which node 2's first leak was read 10 ms before its "rules-removed" event
CLOSE = ROOT / "tests" / "captured" / "upgrade-two-nodes-switch-off-2.json"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_rolling_leaks", ROOT / "scripts" / "check_rolling_leaks.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


check_rolling_leaks = load_script()


def with_probes(run: RunRecord, change) -> RunRecord:
    assert run.upgrade is not None
    probes = tuple(change(p) for p in run.upgrade.probes)
    return dataclasses.replace(run, upgrade=dataclasses.replace(run.upgrade, probes=probes))


def test_the_real_switch_off_leaked_node_by_node() -> None:
    problems, summary = check_rolling_leaks.check(load_results(CAPTURE))
    assert problems == []
    assert summary == [
        "netpol-node switched off from +0.40 s to +0.51 s: 12 denied probes leaked from +0.59 s",
        "netpol-node2 switched off from +6.95 s to +7.03 s: 31 denied probes leaked from +7.11 s",
    ]


def test_a_real_leak_read_just_before_its_rules_removed_event_is_in_time() -> None:
    run = load_results(CLOSE)
    assert run.upgrade is not None
    removed = {e.agent: e.at for e in run.upgrade.events if e.event == "rules-removed"}
    first = min(
        t
        for p in run.upgrade.probes
        if p.label == "backend/web->frontend/web:80/TCP"
        for t in p.leaks
    )
    assert first < removed["kube-router/netpol-node2"]  # what the earlier check called early
    problems, summary = check_rolling_leaks.check(run)
    assert problems == []
    assert summary == [
        "netpol-node switched off from +0.37 s to +0.57 s: 12 denied probes leaked from +0.78 s",
        "netpol-node2 switched off from +7.42 s to +7.52 s: 31 denied probes leaked from +7.51 s",
    ]


def first_leak_at(label: str, at: float):
    def change(p):
        return dataclasses.replace(p, leaks=(at, *p.leaks)) if p.label == label else p

    return change


def test_a_leak_seen_while_its_node_was_being_switched_off_is_in_time() -> None:
    # db runs on netpol-node2: its switch-off began at +6.954 s, its rules were gone by +7.025 s;
    # a leak read at +7.01 s on the pod's clock (cut to 10 ms) came after the rules went
    label = "frontend/web->backend/db:80/TCP"
    run = with_probes(load_results(CAPTURE), first_leak_at(label, 7.01))
    problems, summary = check_rolling_leaks.check(run)
    assert problems == []
    assert summary[1].endswith("31 denied probes leaked from +7.01 s")
    # ... and so is one within the pod clock's resolution of the switch-off's start
    run = with_probes(load_results(CAPTURE), first_leak_at(label, 6.95))
    assert check_rolling_leaks.check(run)[0] == []


def test_a_leak_seen_before_its_nodes_switch_off_began_is_early() -> None:
    label = "frontend/web->backend/db:80/TCP"
    run = with_probes(load_results(CAPTURE), first_leak_at(label, 6.94))
    problems, _ = check_rolling_leaks.check(run)
    assert problems == [
        "1 denied probes got through before every node that denies it was switched off:",
        f"  {label} (enforced on netpol-node2, first leak +6.94 s)",
    ]


def test_a_leak_before_its_node_was_switched_off_is_reported() -> None:
    # frontend/web -> backend/db: db runs on netpol-node2, whose rules went at +7.03 s
    label = "frontend/web->backend/db:80/TCP"

    def early(p):
        return dataclasses.replace(p, leaks=(1.0, *p.leaks)) if p.label == label else p

    problems, _ = check_rolling_leaks.check(with_probes(load_results(CAPTURE), early))
    assert problems[0] == (
        "1 denied probes got through before every node that denies it was switched off:"
    )
    assert problems[1] == f"  {label} (enforced on netpol-node2, first leak +1.00 s)"


def test_a_denied_probe_that_never_leaked_is_reported() -> None:
    label = "frontend/web->backend/cache:80/TCP"

    def held(p):
        return dataclasses.replace(p, leaks=(), windows=()) if p.label == label else p

    problems, _ = check_rolling_leaks.check(with_probes(load_results(CAPTURE), held))
    assert problems[0].startswith("1 denied probes never got through")
    assert label in problems[1]


def test_one_node_switched_off_is_not_a_rolling_switch_off() -> None:
    run = load_results(CAPTURE)
    assert run.upgrade is not None
    events = tuple(e for e in run.upgrade.events if "netpol-node2" not in e.agent)
    one = dataclasses.replace(run, upgrade=dataclasses.replace(run.upgrade, events=events))
    problems, _ = check_rolling_leaks.check(one)
    assert problems[0].startswith("the upgrade command switched off 1 node(s) (netpol-node)")
