"""upgrade-check's options: the suite's own (the very ones pytest takes) and the gate's.

The suite's options are registered from the pytest plugin's own list (``add_options``), so the
two never drift apart; they are validated into settings by the same ``build_settings``, and
the ones given are passed on to both pytest runs. ``--simulate-faults`` is upgrade-check's own:
it also takes the upgrade faults of the simulated cluster. Anything after ``--`` goes to
pytest as it is (``-- -n 2 -m step5``).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netpol_conformance.errors import UsageError
from netpol_conformance.output_files import check_output
from netpol_conformance.pytest_plugin.options import add_options
from netpol_conformance.results.upgrade import Limits
from netpol_conformance.upgrade.gate import GateOptions
from netpol_conformance.upgrade.simulated import UPGRADE_FAULTS

# Chosen from measurement: see the README's "Validating a CNI upgrade".
DEFAULT_INTERVAL = 0.5
DEFAULT_LIVE_TIMEOUT = 1.0
DEFAULT_BASELINE = 5.0
DEFAULT_SETTLE = 15.0
DEFAULT_MAX_DISRUPTION = 2.0
DEFAULT_MAX_DISRUPTION_ESTABLISHED = 2.0
DEFAULT_READY_TIMEOUT = 600.0
DEFAULT_UPGRADE_TIMEOUT = 1800.0

_NOT_PASSED = {"netpol_results", "netpol_faults"}  # set by upgrade-check itself


@dataclass(frozen=True)
class SuiteOption:
    flag: str  # --cni
    dest: str  # netpol_cni
    default: Any
    is_flag: bool = False  # store_true

    def argv(self, value: Any) -> list[str]:
        """The option as pytest takes it, or nothing when it has its default."""
        if value is None or value == self.default:
            return []
        if self.is_flag:
            return [self.flag] if value else []
        return [self.flag, str(value)]


class _Group:
    """pytest's option group interface (``addoption``) over an argparse group."""

    def __init__(self, group: Any, registered: list[SuiteOption]) -> None:
        self.group = group
        self.registered = registered

    def addoption(self, *names: str, **kwargs: Any) -> None:
        dest = kwargs["dest"]
        if dest in _NOT_PASSED:
            return
        kwargs.setdefault("default", None)
        self.group.add_argument(*names, **kwargs)
        self.registered.append(
            SuiteOption(names[0], dest, kwargs["default"], kwargs.get("action") == "store_true")
        )


class _Parser:
    def __init__(self, group: _Group) -> None:
        self._group = group

    def getgroup(self, name: str, description: str = "") -> _Group:
        return self._group


def add_suite_options(parser: argparse.ArgumentParser) -> list[SuiteOption]:
    group = parser.add_argument_group(
        "the suite's options", "as pytest takes them; passed on to the runs before and after"
    )
    registered: list[SuiteOption] = []
    g = _Group(group, registered)
    add_options(_Parser(g))  # type: ignore[arg-type]
    # pytest-kind-ng's options, which the suite reads
    g.addoption("--kubeconfig", dest="kubeconfig", metavar="PATH", help="kubeconfig file")
    g.addoption(
        "--keep-cluster",
        dest="keep_cluster",
        action="store_true",
        default=False,
        help="kind: keep the cluster at the end (it is kept between the runs anyway)",
    )
    g.addoption("--cluster-name", dest="cluster_name", metavar="NAME", help="kind: its name")
    g.addoption("--kind-image", dest="kind_image", metavar="IMAGE", help="kind: the node image")
    g.addoption("--kind-bin", dest="kind_bin", metavar="PATH", help="kind: the kind binary")
    g.addoption(
        "--kind-kubectl-bin",
        dest="kind_kubectl_bin",
        metavar="PATH",
        help="kind: the kubectl binary",
    )
    group.add_argument(
        "--simulate-faults",
        dest="netpol_faults",
        default="",
        metavar="F[,F...]",
        help="--cluster simulated: the suite's faults (see pytest --help), and the upgrade's: "
        f"{', '.join(UPGRADE_FAULTS)} (leak-during-upgrade:SECONDS, "
        "outage-during-upgrade:SECONDS)",
    )
    return registered


def add_gate_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--upgrade-command",
        required=True,
        metavar="CMD",
        help="the upgrade, as a shell command (run with sh -c from the checkout's root, with "
        "KUBECONFIG and NETPOL_KUBE_CONTEXT set to the cluster's)",
    )
    add(
        "--ready-command",
        metavar="CMD",
        help="the CNI is Ready again when this exits 0 (default: its DaemonSet rolled out and "
        "every pod Ready; the local cluster: scripts/local-cluster status)",
    )
    add(
        "--cni-daemonset",
        metavar="NAMESPACE/NAME",
        help="the CNI's DaemonSet on kind/existing clusters (default: the CNI profile's)",
    )
    add(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL,
        metavar="S",
        help=f"seconds between two probe rounds of a pod (default: {DEFAULT_INTERVAL:g})",
    )
    add(
        "--live-timeout",
        type=float,
        default=DEFAULT_LIVE_TIMEOUT,
        metavar="S",
        help=f"curl --max-time of a live probe (default: {DEFAULT_LIVE_TIMEOUT:g})",
    )
    add(
        "--baseline",
        type=float,
        default=DEFAULT_BASELINE,
        metavar="S",
        help=f"seconds probed before the upgrade command runs (default: {DEFAULT_BASELINE:g})",
    )
    add(
        "--settle",
        type=float,
        default=DEFAULT_SETTLE,
        metavar="S",
        help=f"seconds probed after the CNI is Ready again (default: {DEFAULT_SETTLE:g})",
    )
    add(
        "--max-disruption",
        type=float,
        default=DEFAULT_MAX_DISRUPTION,
        metavar="S",
        help="longest disruption of new connections the gate accepts (default: "
        f"{DEFAULT_MAX_DISRUPTION:g})",
    )
    add(
        "--max-disruption-established",
        type=float,
        default=DEFAULT_MAX_DISRUPTION_ESTABLISHED,
        metavar="S",
        help="longest stall of a held connection the gate accepts (default: "
        f"{DEFAULT_MAX_DISRUPTION_ESTABLISHED:g})",
    )
    add(
        "--ready-timeout",
        type=float,
        default=DEFAULT_READY_TIMEOUT,
        metavar="S",
        help=f"how long to wait for the CNI to be Ready (default: {DEFAULT_READY_TIMEOUT:g})",
    )
    add(
        "--upgrade-timeout",
        type=float,
        default=DEFAULT_UPGRADE_TIMEOUT,
        metavar="S",
        help=f"stop the upgrade command after this long (default: {DEFAULT_UPGRADE_TIMEOUT:g})",
    )
    add(
        "--simulate-faults-after",
        default=None,
        metavar="F[,F...]",
        help="--cluster simulated: the faults after the upgrade (default: the same as before)",
    )
    add(
        "--suites",
        metavar="DIR",
        help="the suite's directory (default: suites/ of the current directory or of the "
        "checkout the package comes from)",
    )
    add(
        "--out",
        default="upgrade-check",
        metavar="DIR",
        help="where to write before.json and after.json (default: ./upgrade-check)",
    )
    add("--html", metavar="OUT.html", help="write the report with the timeline here")
    add(
        "pytest_args",
        nargs="*",
        metavar="-- PYTEST-ARGS",
        help="after --: passed to pytest as they are (e.g. -- -n 2 -m step5)",
    )


def _seconds(name: str, value: float, zero_ok: bool = False) -> float:
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        bound = ">= 0" if zero_ok else "> 0"
        raise UsageError(f"--{name} must be a finite number of seconds {bound}; got {value:g}")
    return value


def gate_options(args: argparse.Namespace) -> GateOptions:
    """Validate the gate's own options; UsageError (one line) on a bad value."""
    if not args.upgrade_command.strip():
        raise UsageError("--upgrade-command is empty: give the command that upgrades the CNI")
    if args.ready_command is not None and not args.ready_command.strip():
        raise UsageError("--ready-command is empty: leave it out or give a command")
    daemonset = None
    if args.cni_daemonset:
        ns, sep, name = args.cni_daemonset.partition("/")
        if not (sep and ns and name) or "/" in name:
            raise UsageError(f"--cni-daemonset {args.cni_daemonset!r}: give NAMESPACE/NAME")
        daemonset = (ns, name)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(
            f"--out {out} is not a directory: it takes before.json and after.json; name a "
            "directory (made if missing)"
        )
    check_output(args.html, "--html")
    return GateOptions(
        upgrade_command=args.upgrade_command,
        ready_command=args.ready_command,
        cni_daemonset=daemonset,
        interval=_seconds("interval", args.interval),
        live_timeout=_seconds("live-timeout", args.live_timeout),
        baseline=_seconds("baseline", args.baseline, zero_ok=True),
        settle=_seconds("settle", args.settle, zero_ok=True),
        ready_timeout=_seconds("ready-timeout", args.ready_timeout),
        upgrade_timeout=_seconds("upgrade-timeout", args.upgrade_timeout),
        limits=Limits(
            new=_seconds("max-disruption", args.max_disruption, zero_ok=True),
            established=_seconds(
                "max-disruption-established", args.max_disruption_established, zero_ok=True
            ),
        ),
        out=out,
        html=Path(args.html) if args.html else None,
    )


def option_getter(args: argparse.Namespace, faults: str) -> Callable[[str], Any]:
    """``opt(dest)`` for ``build_settings``: the parsed suite options, ``faults`` for theirs."""

    def opt(name: str) -> Any:
        if name == "netpol_faults":
            return faults
        return getattr(args, name, None)

    return opt


def suite_argv(registered: Sequence[SuiteOption], args: argparse.Namespace) -> list[str]:
    """The suite options given on the command line, as pytest takes them."""
    out: list[str] = []
    for option in registered:
        out += option.argv(getattr(args, option.dest, None))
    return out
