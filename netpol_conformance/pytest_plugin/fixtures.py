"""The fixtures the suites use.

A set-up failure (the cluster, the deployment, one scenario) fails the first test that needs
it, with the whole message, and skips the others with a pointer to it: one clear error, not
one per test (see ``ProcessState.report_error``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from netpol_conformance.cluster.base import MANAGED_LABEL, RUN_LABEL, Backend
from netpol_conformance.cluster.policy_api import PolicyApi
from netpol_conformance.errors import ConformanceError
from netpol_conformance.plan.plan import SuitePlan
from netpol_conformance.pytest_plugin.cases import CatalogueCase, TutorialCase
from netpol_conformance.pytest_plugin.check import check_case, check_state
from netpol_conformance.pytest_plugin.session import ReportedSetupError
from netpol_conformance.pytest_plugin.state import Attempt, ProcessState
from netpol_conformance.results.records import StepResult
from netpol_conformance.run.catalogue import CatalogueRunner
from netpol_conformance.run.deploy import Deployment
from netpol_conformance.run.observe import Observer
from netpol_conformance.run.scenarios import ScenarioRunner
from netpol_conformance.settings import SuiteSettings

STATE_KEY = pytest.StashKey[ProcessState]()


def process_state(config: pytest.Config) -> ProcessState:
    return config.stash[STATE_KEY]


@pytest.fixture(scope="session")
def netpol_settings(pytestconfig: pytest.Config) -> SuiteSettings:
    return process_state(pytestconfig).settings


@pytest.fixture(scope="session")
def netpol_plan(pytestconfig: pytest.Config) -> SuitePlan:
    """Every scenario's probes and expected outcomes for this run."""
    return process_state(pytestconfig).plan


@pytest.fixture(scope="session")
def _netpol_connection(pytestconfig: pytest.Config) -> Attempt:
    return process_state(pytestconfig).connect()


@pytest.fixture
def netpol_backend(_netpol_connection: Attempt) -> Backend:
    """The session's cluster, prepared once for all workers."""
    c = _netpol_connection
    if c.error is None:
        assert isinstance(c.value, Backend)
        return c.value
    if isinstance(c.error, ReportedSetupError) or c.reported:
        pytest.skip(f"the cluster could not be prepared (reported above): {str(c.error)[:200]}")
    c.reported = True
    pytest.fail(f"the cluster could not be prepared:\n{c.error}", pytrace=False)


@pytest.fixture(scope="session")
def _netpol_runner(pytestconfig: pytest.Config, _netpol_connection: Attempt) -> Attempt:
    if _netpol_connection.error is not None:
        return Attempt()
    assert isinstance(_netpol_connection.value, Backend)
    try:
        return Attempt(process_state(pytestconfig).runner(_netpol_connection.value))
    except ConformanceError as exc:
        return Attempt(error=exc)


@pytest.fixture
def netpol_runner(netpol_backend: Backend, _netpol_runner: Attempt) -> ScenarioRunner:
    """This process's deployment of the topology, running scenarios in turn."""
    r = _netpol_runner
    if r.error is not None:
        if r.reported:
            pytest.skip(f"the run could not start (reported above): {str(r.error)[:200]}")
        r.reported = True
        pytest.fail(f"the run could not start:\n{r.error}", pytrace=False)
    assert isinstance(r.value, ScenarioRunner)
    return r.value


@pytest.fixture(scope="session")
def _netpol_catalogue(pytestconfig: pytest.Config, _netpol_connection: Attempt) -> Attempt:
    if _netpol_connection.error is not None:
        return Attempt()
    assert isinstance(_netpol_connection.value, Backend)
    try:
        return Attempt(process_state(pytestconfig).catalogue_runner(_netpol_connection.value))
    except ConformanceError as exc:
        return Attempt(error=exc)


@pytest.fixture
def netpol_catalogue_check(
    pytestconfig: pytest.Config,
    netpol_backend: Backend,
    _netpol_catalogue: Attempt,
    record_property: Callable[[str, Any], None],
) -> Callable[[CatalogueCase], None]:
    """``netpol_catalogue_check(case)``: run the case's scenario (on first use) and assert
    every probe of its state, with the failing probes and the truth tables on failure."""
    r = _netpol_catalogue
    if r.error is not None:
        if r.reported:
            pytest.skip(f"the catalogue could not start (reported above): {str(r.error)[:200]}")
        r.reported = True
        pytest.fail(f"the catalogue could not start:\n{r.error}", pytrace=False)
    assert isinstance(r.value, CatalogueRunner)
    runner = r.value
    state = process_state(pytestconfig)

    def check(case: CatalogueCase) -> None:
        reason = runner.skip_reason(case.scenario)
        if reason:
            pytest.skip(reason)  # never a pass: e.g. SCTP on a node whose kernel lacks it
        result = runner.result(case.scenario.id, case.state.id)
        check_state(case, result, state.settings, state.deviations, record_property)

    return check


@dataclass(frozen=True)
class ApiNamespace:
    """A namespace of its own for an API spec, and the cluster's NetworkPolicy API."""

    api: PolicyApi
    namespace: str


@pytest.fixture
def netpol_api(pytestconfig: pytest.Config, netpol_backend: Backend) -> Iterator[ApiNamespace]:
    """``netpol_api.api`` in ``netpol_api.namespace``, made for the test and deleted after it
    (labelled as the run's, so an interrupted run's clean-up deletes it too)."""
    run_id = process_state(pytestconfig).session.run_id
    name = f"npc-api-{run_id}-{secrets.token_hex(3)}"
    labels = {MANAGED_LABEL: "true", RUN_LABEL: run_id}
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels},
    }
    try:
        api = netpol_backend.policy_api()
        netpol_backend.apply([namespace])
    except (NotImplementedError, ConformanceError) as exc:
        pytest.fail(f"the NetworkPolicy API cannot be used: {exc}", pytrace=False)
    try:
        yield ApiNamespace(api, name)
    finally:
        netpol_backend.delete([namespace])


@pytest.fixture
def netpol_result(netpol_runner: ScenarioRunner) -> Callable[[str], StepResult]:
    """``netpol_result(scenario_id)``: the scenario's observed matrix, run on first use."""
    return netpol_runner.result


@pytest.fixture
def netpol_check(
    pytestconfig: pytest.Config,
    netpol_result: Callable[[str], StepResult],
    record_property: Callable[[str, Any], None],
) -> Callable[[TutorialCase], None]:
    """``netpol_check(case)``: assert one probe of a scenario, with the truth tables on
    failure."""
    state = process_state(pytestconfig)

    def check(case: TutorialCase) -> None:
        result = netpol_result(case.scenario.id)
        check_case(
            case, result, state.settings, state.deviations, record_property, state.tables_shown
        )

    return check


@dataclass(frozen=True)
class Live:
    """A scenario in force right now, for tests that probe or inspect it themselves."""

    result: StepResult
    deployment: Deployment
    observer: Observer


@pytest.fixture
def netpol_hold(
    pytestconfig: pytest.Config, netpol_runner: ScenarioRunner
) -> Callable[[str], StepResult]:
    """``netpol_hold(scenario_id)``: keep the scenario in force and probe it for --hold
    seconds; skips when the hold is off (--hold 0) or the scenario never converged."""
    seconds = process_state(pytestconfig).settings.hold

    def hold(sid: str) -> StepResult:
        if not seconds:
            pytest.skip("the hold is off (--hold 0)")
        held = netpol_runner.hold(sid, seconds)
        if held is None:
            pytest.skip(f"{sid} never converged: there is no state to hold (see its tests)")
        return held

    return hold


@pytest.fixture
def netpol_live(netpol_runner: ScenarioRunner) -> Callable[[str], Live]:
    """``netpol_live(scenario_id)``: put the scenario in force (if it is not) and return it."""

    def live(sid: str) -> Live:
        result = netpol_runner.activate(sid)
        return Live(result, netpol_runner.deployment, netpol_runner.observer)

    return live
