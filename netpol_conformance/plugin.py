"""The pytest plugin: options, fixtures, markers, parametrization and the run's summary."""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from netpol_conformance.book import ScenarioBook
from netpol_conformance.cluster.base import Backend
from netpol_conformance.cluster.kind.options import add_kind_options
from netpol_conformance.environment import expected_outcomes, scenario_probes
from netpol_conformance.errors import ConformanceError, UsageError
from netpol_conformance.expectations import explain_mismatch
from netpol_conformance.probe.spec import Probe
from netpol_conformance.report.matrix import MatrixReport
from netpol_conformance.session import ReportedSetupError, SuiteSession
from netpol_conformance.settings import CLUSTERS, SuiteSettings, build_settings
from netpol_conformance.tutorial.layout import load_layout
from netpol_conformance.tutorial.scenarios import BY_ID, MISTAKES, STEPS, Scenario

SESSION_KEY = pytest.StashKey[SuiteSession]()
SETTINGS_KEY = pytest.StashKey[SuiteSettings]()
GROUPS = {"step": STEPS, "mistake": MISTAKES}


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("netpol-conformance", "NetworkPolicy conformance")
    add = g.addoption
    add(
        "--cluster",
        dest="netpol_cluster",
        default="kind",
        metavar="NAME",
        help=f"where to run: {' | '.join(CLUSTERS)} (default: kind)",
    )
    add(
        "--cni",
        dest="netpol_cni",
        default="calico",
        metavar="NAME",
        help="the CNI under test; selects its profile: calico, flannel, kindnet, cilium, "
        "kube-router, bridge (default: calico)",
    )
    add(
        "--kube-context",
        dest="netpol_kube_context",
        default=None,
        metavar="NAME",
        help="kubeconfig context for --cluster existing (required: never the current context)",
    )
    add(
        "--probe-timeout",
        dest="netpol_probe_timeout",
        default=2.0,
        type=float,
        metavar="S",
        help="curl --max-time for each probe, as the tutorial's --max-time 2 (default: 2)",
    )
    add(
        "--dns-timeout",
        dest="netpol_dns_timeout",
        default=2,
        type=int,
        metavar="S",
        help="nslookup timeout per try (default: 2)",
    )
    add(
        "--enforce-timeout",
        dest="netpol_enforce_timeout",
        default=60.0,
        type=float,
        metavar="S",
        help="how long to poll for policies to take effect (default: 60)",
    )
    add(
        "--external-ip",
        dest="netpol_external_ip",
        default=None,
        metavar="IP",
        help="the step-4 external host for --cluster existing (must listen on TCP 80 and 5432)",
    )
    add(
        "--server-image",
        dest="netpol_server_image",
        default=None,
        metavar="IMAGE",
        help="image of the server container (nginx)",
    )
    add(
        "--probe-image",
        dest="netpol_probe_image",
        default=None,
        metavar="IMAGE",
        help="image of the probe container (needs sh, curl and nslookup)",
    )
    add(
        "--image-pull-policy",
        dest="netpol_pull_policy",
        default=None,
        metavar="POLICY",
        choices=("Always", "IfNotPresent", "Never"),
        help="imagePullPolicy for the test pods",
    )
    add(
        "--manifests",
        dest="netpol_manifests",
        default=None,
        metavar="DIR",
        help="the manifests directory (default: the repository's manifests/)",
    )
    add(
        "--simulate-faults",
        dest="netpol_faults",
        default="",
        metavar="F[,F...]",
        help="--cluster simulated only: no-enforcement, or-for-and, ignore-ports, "
        "ignore-egress, block-dns, reject-instead-of-drop, slow-enforcement:SECONDS",
    )
    add(
        "--simulate-delay",
        dest="netpol_simulate_delay",
        default=0.05,
        type=float,
        metavar="S",
        help="--cluster simulated only: seconds before an applied policy is enforced",
    )
    add(
        "--netpol-results",
        dest="netpol_results",
        default=None,
        metavar="PATH",
        help="write every probe's expected and observed outcome to this JSON file",
    )
    if not _has_option(parser, "--keep-cluster"):  # pytest-kind-ng provides these normally
        add("--keep-cluster", action="store_true", help="keep the kind cluster for the next run")
        add("--cluster-name", default="pytest-kind", help="name of the kind cluster")
        add("--kubeconfig", default=None, help="kubeconfig for --cluster existing")
    add_kind_options(add, lambda name: _has_option(parser, name))


def _has_option(parser: pytest.Parser, name: str) -> bool:
    return any(name in opt.names() for group in parser._groups for opt in group.options)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Keep every test of one scenario on one worker (unless --dist asks for another mode)."""
    if config.getvalue("dist") in ("load", "loadgroup"):
        from netpol_conformance.scheduling import ScenarioScheduling

        return ScenarioScheduling(config, log)
    return None


def _progress(config: pytest.Config):
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    def say(msg: str) -> None:
        if hasattr(config, "workerinput"):
            return  # workers' output is not shown; the controller speaks for the run
        line = f"[netpol-conformance] {msg}"
        if reporter is not None:
            reporter.write_line(line)
        else:
            print(line, file=sys.stderr, flush=True)

    return say


def pytest_configure(config: pytest.Config) -> None:
    for n in range(7):
        config.addinivalue_line("markers", f"step{n}: tutorial step {n}")
    config.addinivalue_line("markers", "mistake: one of the tutorial's common mistakes")
    config.addinivalue_line("markers", "cni(*names): run only when --cni is one of these")
    config.addinivalue_line("markers", "netpol_group(name): parametrize tutorial_case over it")
    try:
        settings = build_settings(config.getoption)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SETTINGS_KEY] = settings
    workerinput = getattr(config, "workerinput", None)
    try:
        if workerinput is None:
            session = SuiteSession.new(settings, _progress(config))
            config.pluginmanager.register(RunSummary(config), "netpol-conformance-summary")
            signal.signal(signal.SIGTERM, _sigterm)
        else:
            from pathlib import Path

            session = SuiteSession(
                settings,
                workerinput["netpol_run_id"],
                Path(workerinput["netpol_state_dir"]),
                _progress(config),
            )
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SESSION_KEY] = session


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # clean up as on Ctrl-C


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    session = node.config.stash[SESSION_KEY]
    node.workerinput["netpol_run_id"] = session.run_id
    node.workerinput["netpol_state_dir"] = str(session.state_dir)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if not hasattr(config, "workerinput") and SESSION_KEY in config.stash:
        config.stash[SESSION_KEY].finish()


# --- parametrization ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TutorialCase:
    scenario: Scenario
    probe: Probe
    expected: str

    @property
    def id(self) -> str:
        # Reads as test_step[2-allow-frontend-to-db][frontend/web->backend/db:5432/TCP=connected]
        return f"{self.scenario.id}][{self.probe.label}={self.expected}"


def tutorial_cases(settings: SuiteSettings, scenarios: tuple[Scenario, ...]) -> Iterator[Any]:
    layout = load_layout(settings.manifests)
    probes = scenario_probes(layout, with_external=settings.has_external)
    for scenario in scenarios:
        marks: list[Any] = []
        if scenario.group == "step":
            marks.append(getattr(pytest.mark, f"step{scenario.id.split('-')[0]}"))
        else:
            marks.append(pytest.mark.mistake)
        if scenario.uses_external and not settings.has_external:
            marks.append(pytest.mark.skip(reason="no external host: pass --external-ip"))
        for probe, outcome in expected_outcomes(scenario, probes, settings.profile).items():
            case = TutorialCase(scenario, probe, outcome.value)
            yield pytest.param(case, id=case.id, marks=marks)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tutorial_case" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("netpol_group")
    group = marker.args[0] if marker else "step"
    settings = metafunc.config.stash[SETTINGS_KEY]
    metafunc.parametrize("tutorial_case", list(tutorial_cases(settings, GROUPS[group])))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    cni = config.stash[SETTINGS_KEY].profile.name
    for item in items:
        marker = item.get_closest_marker("cni")
        if marker and cni not in marker.args:
            item.add_marker(pytest.mark.skip(reason=f"only for --cni {', '.join(marker.args)}"))


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def netpol_settings(pytestconfig: pytest.Config) -> SuiteSettings:
    return pytestconfig.stash[SETTINGS_KEY]


@dataclass
class Connection:
    """The session's cluster, or why there is none. Never raises, so pytest caches no error."""

    backend: Backend | None
    error: ConformanceError | None
    reported: bool = False


@pytest.fixture(scope="session")
def netpol_connection(pytestconfig: pytest.Config) -> Connection:
    backend, error = _attempt(pytestconfig.stash[SESSION_KEY].backend)
    return Connection(backend, error)


@pytest.fixture
def netpol_backend(netpol_connection: Connection) -> Backend:
    """The session's cluster, prepared once for all workers.

    A set-up failure fails the first test that needs the cluster, with the whole message, and
    skips the others: one clear error, not one per test.
    """
    c = netpol_connection
    if c.backend is not None:
        return c.backend
    if isinstance(c.error, ReportedSetupError) or c.reported:
        pytest.skip(f"the cluster could not be prepared (reported above): {str(c.error)[:200]}")
    c.reported = True
    pytest.fail(f"the cluster could not be prepared:\n{c.error}", pytrace=False)


T = TypeVar("T")


def _attempt(fn: Callable[[], T]) -> tuple[T | None, ConformanceError | None]:
    """Call fn; a ConformanceError is returned, so that pytest shows no chained traceback."""
    try:
        return fn(), None
    except ConformanceError as exc:
        return None, exc


@pytest.fixture(scope="session")
def _scenario_book(
    pytestconfig: pytest.Config, netpol_connection: Connection, netpol_settings: SuiteSettings
) -> Iterator[ScenarioBook | None]:
    backend = netpol_connection.backend
    if backend is None:
        yield None
        return
    session = pytestconfig.stash[SESSION_KEY]
    # The cluster may bring its own images (the local cluster has no registry); explicit
    # --server-image/--probe-image options win over both.
    images = {**netpol_settings.images, **backend.info.images}
    for name in ("server", "probe"):
        if pytestconfig.getoption(f"netpol_{name}_image"):
            images[name] = netpol_settings.images[name]
    options = dataclasses.replace(
        netpol_settings.run,
        images=images,
        pull_policy=netpol_settings.pull_policy
        or (backend.info.image_pull_policy if backend.info.images else None),
    )
    book = ScenarioBook(
        backend,
        load_layout(netpol_settings.manifests),
        netpol_settings.profile,
        options,
        session.run_id,
        session.progress,
    )
    yield book
    book.close()


@pytest.fixture
def scenario_book(netpol_backend: Backend, _scenario_book: ScenarioBook) -> ScenarioBook:
    """Every scenario's environment and observed matrix, built once per process."""
    return _scenario_book


@pytest.fixture
def scenario_report(scenario_book: ScenarioBook) -> Any:
    """``scenario_report(scenario)``: the scenario's observed matrix, built on first use."""

    def get(scenario: Scenario) -> MatrixReport:
        report, error = _attempt(lambda: scenario_book.report(scenario))
        if error is None:
            return report
        if scenario.id in scenario_book.errors_shown:
            pytest.skip(f"{scenario.id} could not be set up (reported with its first test)")
        scenario_book.errors_shown.add(scenario.id)
        pytest.fail(f"{scenario.id}: could not set up the scenario:\n{error}", pytrace=False)

    return get


# --- checking one cell --------------------------------------------------------------------------


def check_cell(
    request: pytest.FixtureRequest, book: ScenarioBook, report: MatrixReport, case: TutorialCase
) -> None:
    """Assert one probe of a scenario; on failure show the probe, its history and the tables."""
    probe, scenario = case.probe, case.scenario
    cell = report.cell(probe)
    props = request.node.user_properties
    props += [
        ("scenario", scenario.id),
        ("probe", probe.label),
        ("expected", case.expected),
        ("observed", str(cell.observed)),
        ("time_to_enforce_s", report.state.time_to_enforce),
    ]
    disagreements = [d for d in report.oracle_disagreements if d.startswith(probe.label + ":")]
    if disagreements:
        pytest.fail(
            "suite bug: the oracle and the hand-written table disagree:\n  "
            + "\n  ".join(disagreements),
            pytrace=False,
        )
    if cell.ok:
        return
    observed = cell.observed
    why = (
        explain_mismatch(cell.expected, observed, report.profile, None)
        if observed
        else "no observation"
    )
    lines = [
        f"{scenario.id}: {probe.label}",
        f"  expected {cell.expected.value}, observed {observed}: {why}",
        f"  probe:    {cell.command}",
        f"  history:  {', '.join(str(o) for o in cell.history)} "
        f"({'converged' if report.converged else 'the matrix never converged'})",
    ]
    if observed and observed.detail:
        lines.append(f"  output:   {observed.detail[:300]}")
    if scenario.id not in book.tables_shown:
        book.tables_shown.add(scenario.id)
        lines += ["", report.failure_summary()]
    else:
        lines.append(f"  (the truth tables of {scenario.id} are shown with its first failure)")
    pytest.fail("\n".join(lines), pytrace=False)


# --- the run's summary -------------------------------------------------------------------------


class RunSummary:
    """Collects every probe's result (in the controller, from all workers) and reports it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: list[dict[str, Any]] = []
        self.timings: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if report.when != "call":
            return
        if "probe" in props:
            self.results.append({"test": report.nodeid, "outcome": report.outcome, **props})
            return
        for name, value in props.items():
            if name.startswith("time_to_enforce_") and isinstance(value, float):
                self.timings.append(f"{report.nodeid.split('::')[-1]}: {name} = {value:.2f}s")

    def pytest_sessionfinish(self) -> None:
        path = self.config.stash[SETTINGS_KEY].results_path
        if path and self.results:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"results": self.results}, indent=1, default=str) + "\n")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        settings = self.config.stash[SETTINGS_KEY]
        session = self.config.stash[SESSION_KEY]
        tr = terminalreporter
        if session.setup_error:
            tr.section("netpol-conformance: set-up failed", red=True)
            tr.write_line(session.setup_error)
        if not self.results and not self.timings:
            return
        p = settings.profile
        tr.section("netpol-conformance")
        deny = p.deny_style if p.enforces else "none (policies are not enforced)"
        tr.write_line(
            f"cluster {settings.cluster}, cni {p.name}: enforces NetworkPolicy: "
            f"{'yes' if p.enforces else 'no'}, deny style: {deny}"
        )
        counts: dict[str, Counter[str]] = {}
        enforce: dict[str, float] = {}
        for r in self.results:
            counts.setdefault(r["scenario"], Counter())[r["outcome"]] += 1
            if isinstance(r.get("time_to_enforce_s"), float):
                enforce[r["scenario"]] = r["time_to_enforce_s"]
        for scenario, c in counts.items():
            tte = f", enforced after {enforce[scenario]:.1f}s" if scenario in enforce else ""
            tr.write_line(f"  {scenario}: {c['passed']} passed, {c['failed']} failed{tte}")
        for line in self.timings:
            tr.write_line(f"  {line}")
        if not p.enforces:
            denied = [r for r in self.results if _tutorial_denies(r)]
            through = sum(
                1 for r in denied if r["observed"].split("(")[0] in ("connected", "dns-ok")
            )
            tr.write_line(
                f"{p.name} does NOT enforce NetworkPolicy: {through} of {len(denied)} probes "
                "that the tutorial's policies deny got through anyway."
            )


def _tutorial_denies(result: dict[str, Any]) -> bool:
    scenario = BY_ID.get(result["scenario"])
    src, _, rest = result["probe"].partition("->")
    dst, _, port = rest.partition(":")
    return scenario is not None and not scenario.expect_allowed(src, dst, port.split("/")[0])
