"""The netpol-conformance pytest plugin: hook wiring only.

Registered through the ``pytest11`` entry point. Options, settings, fixtures, test
generation, the per-probe check, the summary and xdist scheduling live in modules of their
own; a process that runs none of the suite's tests prepares no cluster.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from netpol_conformance.errors import ConformanceError, UsageError
from netpol_conformance.plan import catalogue
from netpol_conformance.pytest_plugin import cases, options, store, summary, workers
from netpol_conformance.pytest_plugin.fixtures import (  # noqa: F401 - fixtures of the plugin
    STATE_KEY,
    _netpol_catalogue,
    _netpol_connection,
    _netpol_runner,
    netpol_api,
    netpol_backend,
    netpol_catalogue_check,
    netpol_check,
    netpol_hold,
    netpol_live,
    netpol_plan,
    netpol_result,
    netpol_runner,
    netpol_settings,
    process_state,
)
from netpol_conformance.pytest_plugin.junit import JunitSuiteProperties
from netpol_conformance.pytest_plugin.run_record import selection_record
from netpol_conformance.pytest_plugin.session import ProgressRelay, SuiteSession
from netpol_conformance.pytest_plugin.state import ProcessState
from netpol_conformance.pytest_plugin.store import LOST
from netpol_conformance.settings import build_settings

RELAY_KEY = pytest.StashKey[ProgressRelay]()
XUNIT2_WARNING = "record_property is incompatible with junit_family"
REPORTER_KEY = pytest.StashKey[summary.RunReporter]()


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def _say(config: pytest.Config):
    def say(msg: str) -> None:
        line = f"[netpol-conformance] {msg}"
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line)
        else:
            print(line, file=sys.stderr, flush=True)

    return say


def pytest_configure(config: pytest.Config) -> None:
    for marker, what in {**catalogue.markers(), **cases.catalogue_markers()}.items():
        config.addinivalue_line("markers", f"{marker}: {what}")
    config.addinivalue_line("markers", "cni(*names): run only when --cni is one of these")
    config.addinivalue_line("markers", "netpol_group(name): parametrize tutorial_case over it")
    # Every probe test records its properties for --junitxml; pytest warns once per test that
    # the xunit2 schema has no testcase properties (it writes them all the same).
    config.addinivalue_line("filterwarnings", f"ignore:{XUNIT2_WARNING}:pytest.PytestWarning")
    try:
        settings = build_settings(lambda name: config.getoption(name, default=None))
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        session = SuiteSession(settings, config.rootpath, _say(config))
        name = "main"
    else:
        session = SuiteSession(
            settings,
            config.rootpath,
            _say(config),
            run_id=workerinput["netpol_run_id"],
            state_dir=Path(workerinput["netpol_state_dir"]),
        )
        name = workerinput["workerid"]
    try:
        state = ProcessState(settings, session, name)
        config.stash[STATE_KEY] = state
        if workerinput is None:
            reporter = summary.RunReporter(state, selection_record(config))
            config.stash[REPORTER_KEY] = reporter
            config.pluginmanager.register(reporter, "netpol-conformance-reporter")
            config.pluginmanager.register(JunitSuiteProperties(state), "netpol-conformance-junit")
            signal.signal(signal.SIGTERM, _sigterm)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # clean up as on Ctrl-C


@pytest.hookimpl(tryfirst=True)
def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """Ctrl-C or SIGTERM can land on an instruction that has no line number (Python 3.11 then
    records the frame with ``tb_lineno`` None), and pytest's report of the interruption fails on
    such a frame: the run would end with an internal error (exit 1) instead of "interrupted"
    (exit 2). Those frames are left out of the report; they have no line to show anyway."""
    excinfo.traceback = excinfo.traceback.filter(
        lambda entry: entry._rawentry.tb_lineno is not None
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    config = node.config
    session = process_state(config).session
    node.workerinput["netpol_run_id"] = session.run_id
    node.workerinput["netpol_state_dir"] = str(session.state_dir)
    if RELAY_KEY not in config.stash:
        relay = ProgressRelay(session.progress_file, _say(config))
        config.stash[RELAY_KEY] = relay
        relay.start()


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` on a remote cluster: more workers than CPUs (see ``workers``)."""
    if config.option.numprocesses != "auto":  # -n logical counts CPUs, as it says
        return None
    return workers.auto_workers(
        config.getoption("netpol_cluster"),
        len(os.sched_getaffinity(0)),
        os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"),
    )


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Keep every test of one scenario on one worker (unless --dist asks for another mode)."""
    if config.getvalue("dist") in ("load", "loadgroup"):
        from netpol_conformance.pytest_plugin.scheduling import ScenarioScheduling

        return ScenarioScheduling(config, log)
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if {"tutorial_case", "catalogue_case"} & set(metafunc.fixturenames):
        cases.parametrize(metafunc, process_state(metafunc.config).plan)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    cases.order_and_select(items, process_state(config).settings.profile.name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    """A set-up or cluster error in a fixture is one clear message, not a traceback."""
    try:
        return (yield)
    except ConformanceError as exc:
        error = exc
    process_state(item.config).report_error(error)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """The same inside a test."""
    try:
        return (yield)
    except ConformanceError as exc:
        error = exc
    process_state(item.config).report_error(error)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = process_state(config)
    results = state.close()
    if hasattr(config, "workerinput"):
        if results.steps or results.setup_errors:
            store.dump(results, state.session.state_dir)
        return
    relay = config.stash.get(RELAY_KEY, None)
    if relay is not None:
        relay.stop()
    processes = [results] if results.steps or results.setup_errors else []
    if RELAY_KEY in config.stash:  # xdist ran workers: gather what they wrote
        processes += store.load_all(state.session.state_dir)
    reporter = config.stash[REPORTER_KEY]
    reporter.processes = processes
    reporter.lost = dict(config.stash.get(LOST, {}))
    for scope, why in reporter.lost.items():
        _say(config)(f"lost: {scope}: {why}")
    if reporter.lost and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    info = state.session.known_info()
    state.session.finish()
    reporter.write_results(exitstatus, info)
    if reporter.write_error and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # the run's record is lost
