"""scripts/check_fault_run.py: a fault's run failed exactly where the fault breaks, or not."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from report_runs import NODES, make_run

from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.probe.spec import Probe
from netpol_conformance.results.records import ProbeRecord, RunRecord
from netpol_conformance.results.write import write_results

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_fault_run.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_fault_run", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_fault_run = load_script()
DENIES = (Outcome.TIMEOUT, Outcome.REFUSED, Outcome.DNS_FAIL)


def bypass_5432(scenario: str, probe: Probe, want: Outcome) -> Outcome | None:
    return Outcome.CONNECTED if probe.port == 5432 and want in DENIES else None


def dns_open(scenario: str, probe: Probe, want: Outcome) -> Outcome | None:
    if probe.port == 53 and want in DENIES:
        return Outcome.DNS_OK if want is Outcome.DNS_FAIL else Outcome.CONNECTED
    return None


def failed(run: RunRecord) -> RunRecord:
    return dataclasses.replace(run, status="failed")


def test_a_run_that_fails_exactly_where_the_fault_breaks_passes_the_check() -> None:
    run = failed(make_run(fault=bypass_5432))
    assert sum(not r.met for s in run.steps for r in s.probes) > 10
    assert check_fault_run.check(run, "bypass", ["tcp/5432"]) == []
    assert check_fault_run.check(failed(make_run(fault=dns_open)), "dns-any", []) == []


def test_a_probe_the_fault_breaks_that_still_met_is_reported() -> None:
    def all_but_one(scenario: str, probe: Probe, want: Outcome) -> Outcome | None:
        if (
            scenario == "1-default-deny-ingress"
            and probe.label == "frontend/web->backend/db:5432/TCP"
        ):
            return None
        return bypass_5432(scenario, probe, want)

    problems = check_fault_run.check(failed(make_run(fault=all_but_one)), "bypass", ["tcp/5432"])
    assert problems[0] == "1 probes the fault breaks met their expectation:"
    assert "frontend/web->backend/db:5432/TCP" in problems[1]


def test_a_failure_the_fault_does_not_explain_is_reported() -> None:
    problems = check_fault_run.check(failed(make_run(fault=dns_open)), "bypass", ["tcp/5432"])
    assert any("probes failed that the fault does not break" in p for p in problems)
    assert any("probes the fault breaks met their expectation" in p for p in problems)


def test_a_run_that_passed_or_errored_is_not_a_fault_run() -> None:
    run = dataclasses.replace(make_run(fault=bypass_5432), status="passed")
    assert "the run's status is 'passed', not 'failed'" in check_fault_run.check(
        run, "bypass", ["tcp/5432"]
    )
    assert "no probe failed" in check_fault_run.check(failed(make_run()), "stale-rules", [])
    with_error = failed(make_run(fault=bypass_5432, setup_errors={"2-allow-frontend-to-db": "x"}))
    assert any(
        p.startswith("set-up errors")
        for p in check_fault_run.check(with_error, "bypass", ["tcp/5432"])
    )


def test_flap_needs_some_denied_probes_failing_as_flapping_and_no_allowed_one() -> None:
    run = failed(make_run(fault=bypass_5432))
    problems = check_fault_run.check(run, "flap", ["3", "0.6"])
    assert problems == ["no failing probe was reported as flapping"]
    steps = tuple(
        dataclasses.replace(
            s,
            probes=tuple(
                dataclasses.replace(r, flap="connected at +3.1s ...") if not r.met else r
                for r in s.probes
            ),
        )
        for s in run.steps
    )
    assert check_fault_run.check(dataclasses.replace(run, steps=steps), "flap", ["3", "0.6"]) == []
    # an allowed probe failing is never explained by a fault that only opens
    broken = failed(
        make_run(fault=lambda s, p, w: Outcome.TIMEOUT if w is Outcome.CONNECTED else None)
    )
    assert any("does not break" in p for p in check_fault_run.check(broken, "flap", ["3", "0.6"]))


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.json"
    write_results(failed(make_run(fault=bypass_5432)), path)
    assert check_fault_run.main([str(path), "bypass", "tcp/5432"]) == 0
    assert "exactly those the fault breaks" in capsys.readouterr().out
    assert check_fault_run.main([str(path), "bypass", "udp/53"]) == 1
    assert check_fault_run.main([str(path), "bypass", "icmp/1"]) == 2
    assert check_fault_run.main([str(path), "unplug"]) == 2
    (tmp_path / "bad.json").write_text(json.dumps({"format": "other"}))
    assert check_fault_run.main([str(tmp_path / "bad.json"), "dns-any"]) == 2
    assert "not a netpol-conformance results file" in capsys.readouterr().err


# ---------------------------------------------------------------- one node's enforcer stopped

NODE_OF = {pod: node.name for node in NODES for pod in node.pods}


def directions(record: ProbeRecord) -> tuple[str, ...]:
    """A denial by the destination's ingress for pod targets, by the source's egress else; a
    few by both (who denies what does not matter here, only that it is recorded)."""
    if record.expected not in DENIES:
        return ()
    if record.probe.target not in NODE_OF:
        return ("egress",)
    return ("egress", "ingress") if record.probe.port == 5432 else ("ingress",)


def stopped_on(node: str, also: set[str] | None = None) -> RunRecord:
    """A run whose denied probes leak where every denying direction is enforced on ``node``
    (and the probes labelled in ``also``)."""
    run = make_run(scenarios=("1-default-deny-ingress", "2-allow-frontend-to-db"))
    steps = []
    for step in run.steps:
        records = []
        for r in step.probes:
            r = dataclasses.replace(r, denied_by=directions(r))
            enforcers = {
                NODE_OF.get(r.probe.source if d == "egress" else r.probe.target)
                for d in r.denied_by
            }
            if r.denied_by and (enforcers == {node} or r.label in (also or set())):
                seen = Observation(Outcome.CONNECTED, "HTTP 200")
                r = dataclasses.replace(r, observed=seen, met=False, history=(seen,))
            records.append(r)
        steps.append(dataclasses.replace(step, probes=tuple(records)))
    return failed(dataclasses.replace(run, steps=tuple(steps)))


def test_an_enforcer_stopped_on_one_node_breaks_exactly_the_probes_only_it_denies() -> None:
    run = stopped_on("node-b")
    leaked = [r for s in run.steps for r in s.probes if not r.met]
    assert any(r.denied_by == ("ingress",) for r in leaked)
    assert any(r.denied_by == ("egress", "ingress") for r in leaked)  # both on node-b
    assert check_fault_run.check(run, "cni-stop", ["node-b"]) == []
    # the same failures are not those of the other node
    assert check_fault_run.check(run, "cni-stop", ["node-a"])


def test_a_probe_the_running_node_also_denies_must_not_leak() -> None:
    # frontend/web (node-a) -> backend/web (node-b) on 5432: egress on node-a still denies
    both = "frontend/web->backend/web:5432/TCP"
    problems = check_fault_run.check(stopped_on("node-b", also={both}), "cni-stop", ["node-b"])
    assert problems[0] == "2 probes failed that the fault does not break:"  # in both steps
    assert problems[1].endswith(both) and problems[2].endswith(both)


def test_an_unknown_node_is_refused() -> None:
    with pytest.raises(
        ValueError, match=r"no node 'node-c' in the run \(its nodes: node-a, node-b\)"
    ):
        check_fault_run.check(stopped_on("node-b"), "cni-stop", ["node-c"])
