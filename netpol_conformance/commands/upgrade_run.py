"""upgrade-check from end to end: the suite before, the live part, the suite after, the verdict.

Phases, in order: the suite before the upgrade (its results file kept as before.json); the
live part (``live.LiveCheck``); the suite after (after.json); then the comparison, the gate's
verdict, the timeline printed and written into after.json (and ``--html``). Ctrl-C in any
phase deletes the live probes' namespaces (a suite run deletes its own), says which phase was
interrupted, and exits 130.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

from netpol_conformance.cluster.base import Backend, ClusterInfo
from netpol_conformance.cluster.kube import KubeBackend
from netpol_conformance.commands.upgrade_options import (
    GateOptions,
    SuiteOption,
    gate_options,
    option_getter,
    suite_argv,
)
from netpol_conformance.errors import ConformanceError, UsageError
from netpol_conformance.report.comparison import print_comparison
from netpol_conformance.report.html_report import render_html
from netpol_conformance.report.summary import run_title
from netpol_conformance.report.upgrade_terminal import print_timeline
from netpol_conformance.results.compare import DEFAULT_ENFORCE_THRESHOLD, compare
from netpol_conformance.results.write import write_atomically, write_results
from netpol_conformance.settings import (
    SuiteSettings,
    build_settings,
    local_cluster_script,
    make_provider,
)
from netpol_conformance.sim.cluster import SimulatedCluster
from netpol_conformance.sim.faults import Faults
from netpol_conformance.upgrade.cni_watch import (
    CniWatch,
    CommandWatch,
    DaemonSetWatch,
    LocalClusterWatch,
    kube_daemonset_reader,
)
from netpol_conformance.upgrade.gate import gate
from netpol_conformance.upgrade.live import LiveCheck
from netpol_conformance.upgrade.simulated import SimulatedUpgrade, UpgradeFaults, split_faults
from netpol_conformance.upgrade.suite_run import SuiteCommand, find_suites
from netpol_conformance.upgrade.timeline import RawEvent

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
COMPARE_ROWS = 12  # per kind of change: the timeline comes first; compare itself shows more


class Interrupted(ConformanceError):
    exit_code = 130


class SimulatedWatch(CniWatch):
    def __init__(self, backend: SimulatedUpgrade) -> None:
        self.backend = backend
        self.description = "the simulated upgrade schedule is over"

    def ready(self) -> bool:
        return self.backend.ready()

    def events(self) -> list[RawEvent]:
        return self.backend.events()


@dataclasses.dataclass(frozen=True)
class Plan:
    """Everything validated before anything runs."""

    settings: SuiteSettings
    gate: GateOptions
    suite: SuiteCommand
    upgrade_faults: UpgradeFaults
    before_faults: str
    after_faults: str

    @property
    def before_path(self) -> Path:
        return self.gate.out / "before.json"

    @property
    def after_path(self) -> Path:
        return self.gate.out / "after.json"


def plan_check(
    args: argparse.Namespace,
    registered: Sequence[SuiteOption],
    say,
    cwd: Path,  # type: ignore[no-untyped-def]
) -> Plan:
    """Validate every input; UsageError (exit 2, one line) on the first bad one."""
    options = gate_options(args)
    upgrade_faults, before_faults = split_faults(args.netpol_faults)
    settings = build_settings(option_getter(args, before_faults))
    simulated = settings.cluster == "simulated"
    if not simulated and (upgrade_faults != UpgradeFaults() or args.simulate_faults_after):
        raise UsageError("--simulate-faults and --simulate-faults-after need --cluster simulated")
    after_faults = (
        before_faults if args.simulate_faults_after is None else args.simulate_faults_after
    )
    Faults.parse(after_faults)  # a bad name is a usage error now, not after the first run
    suites = find_suites(args.suites, cwd, PACKAGE_ROOT)
    known = settings.profile.kind is not None and bool(settings.profile.kind.daemonset)
    kube = settings.cluster in ("kind", "existing")
    if kube and options.ready_command is None and options.cni_daemonset is None and not known:
        raise UsageError(
            f"--cni {settings.profile.name} has no known DaemonSet: pass --cni-daemonset "
            "NAMESPACE/NAME or --ready-command CMD"
        )
    extra = suite_argv(registered, args)
    if settings.cluster == "kind" and "--keep-cluster" not in extra:
        extra.append("--keep-cluster")  # the three parts share one cluster
    return Plan(
        settings=settings,
        gate=options,
        suite=SuiteCommand(suites, tuple(extra), tuple(args.pytest_args), say),
        upgrade_faults=upgrade_faults,
        before_faults=before_faults,
        after_faults=after_faults,
    )


def _faults_argv(spec: str) -> list[str]:
    return ["--simulate-faults", spec] if spec else []


def make_watch(plan: Plan, backend: Backend, info: ClusterInfo) -> CniWatch:
    o, s = plan.gate, plan.settings
    if isinstance(backend, SimulatedUpgrade):
        return SimulatedWatch(backend)
    if o.ready_command is not None:
        return CommandWatch(o.ready_command, cwd=str(plan.suite.root))
    if s.cluster == "local":
        script = local_cluster_script(s, plan.suite.root)
        return LocalClusterWatch(str(script), cwd=str(plan.suite.root))
    assert isinstance(backend, KubeBackend)
    namespace, name = o.cni_daemonset or s.profile.kind.daemonset  # type: ignore[union-attr]
    reader = kube_daemonset_reader(backend.api_client(), namespace, name)
    return DaemonSetWatch(reader, f"{namespace}/{name}")


def run_check(plan: Plan, console: Console) -> int:
    say = plan.suite.say
    s = plan.settings
    phase = "running the suite before the upgrade"
    live: LiveCheck | None = None
    try:
        before = plan.suite.run("before", plan.before_path, _faults_argv(plan.before_faults))
        phase = "live"
        live_settings = dataclasses.replace(s, keep_cluster=True)
        live = LiveCheck(
            settings=live_settings,
            options=plan.gate,
            provider=make_provider(live_settings, plan.suite.root),
            make_watch=lambda b, i: make_watch(plan, b, i),
            root=plan.suite.root,
            say=say,
            wrap=_wrapper(plan),
        )
        try:
            record = live.run()
        finally:
            phase = live.phase
            gone = live.close()
            say(f"deleted the live probes' {len(gone)} namespaces")
        phase = "running the suite after the upgrade"
        after = plan.suite.run("after", plan.after_path, _faults_argv(plan.after_faults))
        phase = "writing the report"
        comparison = compare(before, after, DEFAULT_ENFORCE_THRESHOLD)
        verdict = gate(record, comparison)
        record = dataclasses.replace(record, reasons=verdict.reasons)
        after = dataclasses.replace(after, upgrade=record)
        write_results(after, plan.after_path)
        print_timeline(record, console)
        names = (str(plan.before_path), str(plan.after_path))
        print_comparison(
            comparison,
            console,
            f"{names[0]} ({run_title(before)})",
            f"{names[1]} ({run_title(after)})",
            limit=COMPARE_ROWS,
            more_where=f"netpol-conformance compare {names[0]} {names[1]} lists more",
        )
        if plan.gate.html is not None:
            html = render_html(after, before, comparison, names)
            write_atomically(plan.gate.html, html, "the HTML report")
            say(f"wrote {plan.gate.html}")
        _finish_kind(plan, live)
        if verdict.passed:
            console.print(
                "[bold green]upgrade-check: PASSED[/]: nothing leaked, regressed or "
                "was disrupted beyond the limits"
            )
        else:
            console.print("[bold red]upgrade-check: FAILED[/]")
            for reason in verdict.reasons:
                console.print(f"  - {reason}", highlight=False, markup=False)
        return verdict.exit_code
    except KeyboardInterrupt:
        where = live.phase if live is not None and phase == "live" else phase
        _finish_kind(plan, live)
        raise Interrupted(
            f"upgrade-check interrupted while {where}; the live probes' namespaces were "
            "deleted (a suite run deletes its own)"
        ) from None


def _wrapper(plan: Plan) -> Callable[[Backend], Backend]:
    if plan.settings.cluster != "simulated":
        return lambda b: b
    after = Faults.parse(plan.after_faults)

    def wrap(backend: Backend) -> Backend:
        assert isinstance(backend, SimulatedCluster)  # what the simulated provider connects to
        return SimulatedUpgrade(backend, plan.upgrade_faults, after)

    return wrap


def _finish_kind(plan: Plan, live: LiveCheck | None) -> None:
    """A kind cluster the user did not ask to keep is deleted at the end, as pytest does."""
    s = plan.settings
    if s.cluster != "kind" or s.keep_cluster or live is None or live.info is None:
        return
    provider = make_provider(dataclasses.replace(s, keep_cluster=False), plan.suite.root)
    provider.finish(live.info, plan.suite.say)
