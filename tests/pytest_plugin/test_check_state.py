"""The check of one catalogue state: what fails it, what an expected deviation excuses, and
when a deviation entry is stale."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from report_runs import blocks, make_step

from netpol_conformance.cni import profile
from netpol_conformance.deviations import Deviation, Deviations
from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.pytest_plugin.cases import CatalogueCase
from netpol_conformance.pytest_plugin.check import check_state
from netpol_conformance.results.records import StepResult
from netpol_conformance.run.scenarios import with_deviations
from netpol_conformance.scenarios.catalogue import BY_ID

SCENARIO = "upstream-01-default-deny-ingress"  # any catalogue scenario: the check reads its name
LEAK = "frontend/web->backend/db:80/TCP"


class Settings:
    profile = profile("calico")


def case() -> CatalogueCase:
    s = BY_ID[SCENARIO]
    return CatalogueCase(s, s.states[0])


def state(fault: Any = None) -> StepResult:
    step = make_step("1-default-deny-ingress", fault=fault)
    return dataclasses.replace(step, scenario=SCENARIO, step=case().state.id)


def leaks(s: str, probe: Any, want: Outcome) -> Outcome | None:
    return Outcome.CONNECTED if probe.label == LEAK else None


def deviations(*patterns: str) -> Deviations:
    return Deviations(
        "calico",
        tuple(
            Deviation(SCENARIO, p, Outcome.CONNECTED, "known", "https://example.org/1", f"e{i}")
            for i, p in enumerate(patterns)
        ),
    )


def check(result: StepResult, dev: Deviations) -> None:
    settings: Any = Settings()  # the check reads only the profile
    check_state(case(), with_deviations(result, dev), settings, dev, lambda *_: None)


def test_a_state_that_meets_every_expectation_passes() -> None:
    check(state(), deviations())


def test_a_leak_fails_the_state_naming_the_probe_and_its_command() -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        check(state(leaks), deviations())
    text = str(failed.value)
    assert f"{SCENARIO}: {LEAK}" in text
    assert "1 of " in text and "probes not as expected" in text
    assert "probe:    kubectl exec" in text  # the command to run it by hand
    assert "observed" in text  # the truth tables follow


def test_a_listed_leak_is_an_expected_failure_grouped_by_reason() -> None:
    with pytest.raises(pytest.xfail.Exception) as xfailed:
        check(state(leaks), deviations("*->backend/db:80/TCP"))
    assert str(xfailed.value).endswith(f"{LEAK}: known (https://example.org/1)")


def test_entries_of_a_state_that_now_meets_every_expectation_are_stale() -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        check(state(), deviations("*->backend/db:80/TCP"))
    assert "*->backend/db:80/TCP (e0)" in str(failed.value)
    assert "remove the entries" in str(failed.value)


def test_an_entry_that_this_run_did_not_need_is_kept_while_another_matches() -> None:
    # which of the listed ways a CNI deviates may change from one sync to the next
    with pytest.raises(pytest.xfail.Exception):
        check(state(leaks), deviations("*->backend/db:80/TCP", "*->backend/cache:*"))


def test_another_category_than_listed_is_not_excused() -> None:
    with pytest.raises(pytest.fail.Exception):
        check(state(blocks("1-default-deny-ingress", {"frontend/web->frontend/admin:80/TCP"})),
              deviations("*->frontend/admin:80/TCP"))  # fmt: skip
