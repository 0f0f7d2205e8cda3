"""upgrade-check from end to end on the simulated cluster, and its refusals of bad input.

The suite runs (before and after) are narrowed to step 5 (``-- -m step5``) to keep these
tests short; the live part is the same as on any backend.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from netpol_conformance import cli
from netpol_conformance.cluster.base import ClusterInfo
from netpol_conformance.cluster.kube import KubeBackend
from netpol_conformance.commands import upgrade_run as check
from netpol_conformance.results.load import load_results
from netpol_conformance.results.upgrade import DOWN, UP
from netpol_conformance.upgrade import live
from netpol_conformance.upgrade.clock import RESOLUTION
from netpol_conformance.upgrade.cni_watch import CommandWatch, DaemonSetWatch

ROOT = Path(__file__).resolve().parents[2]
NARROW = ["--", "-n", "0", "-m", "step5", "-p", "no:cacheprovider", "-q"]


def upgrade_check(tmp_path: Path, *options: str, narrow: bool = True) -> list[str]:
    return [
        "upgrade-check",
        "--cluster",
        "simulated",
        "--cni",
        "calico",
        "--suites",
        str(ROOT / "suites"),
        "--out",
        str(tmp_path),
        "--interval",
        "0.25",
        "--baseline",
        "1",
        "--settle",
        "1",
        *options,
        *(NARROW if narrow else []),
    ]


def test_a_clean_upgrade_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    html = tmp_path / "report.html"
    code = cli.main(upgrade_check(tmp_path, "--upgrade-command", "true", "--html", str(html)))
    out = capsys.readouterr().out
    assert code == 0, out
    upgrade = load_results(tmp_path / "after.json").upgrade
    assert upgrade is not None and upgrade.passed and upgrade.exit_code == 0 and upgrade.ready
    assert len(upgrade.probes) == 62 and all(p.gated and p.samples >= 5 for p in upgrade.probes)
    assert not any(p.windows for p in upgrade.probes)
    assert len(upgrade.connections) == 9
    assert all(not c.broken and c.round_trips >= 5 for c in upgrade.connections)
    assert "upgrade-check: PASSED" in out
    assert "UPGRADE PASSED" in html.read_text()


def test_a_three_second_leak_fails_and_the_timeline_puts_it_in_the_right_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = ("--upgrade-command", "true", "--simulate-faults", "leak-during-upgrade:3")
    code = cli.main(upgrade_check(tmp_path, *options))
    out = capsys.readouterr().out
    assert code == 1, out
    upgrade = load_results(tmp_path / "after.json").upgrade
    assert upgrade is not None and not upgrade.passed
    denied = [p for p in upgrade.probes if p.role == DOWN]
    assert len(denied) == 43 and all(p.leaks for p in denied)
    leaks = [t for p in denied for t in p.leaks]
    # the first leak in the upgrade's first second, the last in its third: the window is 3 s
    # (times read in a pod are known to /proc/uptime's hundredths, either way)
    assert -RESOLUTION <= min(leaks) < 1.0
    assert 2.0 <= max(leaks) <= 3.0 + RESOLUTION
    assert all(w.ended and 2.5 <= w.end - w.start <= 3.5 for p in denied for w in p.windows)
    assert not any(p.windows for p in upgrade.probes if p.role == UP)
    assert [(round(e.at, 1), e.event) for e in upgrade.events if e.event.startswith("rules")] == [
        (0.0, "rules-flushed"),
        (3.0, "rules-restored"),
    ]
    assert upgrade.reasons[0].startswith("43 denied probes got through")
    assert "upgrade-check: FAILED" in out
    # each leak names the nodes that deny it: the simulated pods are on two nodes, and nothing
    # in a host outside the cluster enforces, so a probe to it is its source node's to deny
    node_of = load_results(tmp_path / "after.json").cluster.node_of
    assert len(set(node_of.values())) == 2 and "enforced on" in out
    for p in denied:
        assert p.enforced_on and set(p.enforced_on) <= {node_of[p.source], node_of.get(p.target)}
        if p.path == "external":
            assert p.enforced_on == (node_of[p.source],), p.label
    assert any(p.path == "external" for p in denied)
    # the suites before and after saw nothing wrong: the leak was only during the upgrade
    document = json.loads((tmp_path / "after.json").read_text())
    assert document["summary"]["not_met"] == 0


def test_a_fault_of_the_new_version_fails_through_the_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = ("--upgrade-command", "true", "--simulate-faults-after", "block-dns")
    code = cli.main(upgrade_check(tmp_path, *options))
    out = capsys.readouterr().out
    assert code == 1, out
    upgrade = load_results(tmp_path / "after.json").upgrade
    assert upgrade is not None
    assert re.match(r"the suite after the upgrade: 0 leaks and \d+ regressions", upgrade.reasons[0])
    dns = [p for p in upgrade.probes if p.kind == "dns"]
    assert all(not p.windows[-1].ended for p in dns)  # still failing when probing stopped
    assert "Regressions: as expected before, not after" in out


def test_ctrl_c_during_the_upgrade_deletes_the_live_namespaces_and_names_the_phase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(live, "run_upgrade", interrupted)
    code = cli.main(upgrade_check(tmp_path, "--upgrade-command", "sleep 30"))
    captured = capsys.readouterr()
    assert code == 130
    assert "deleted the live probes' 3 namespaces" in captured.out
    assert captured.err == (
        "netpol-conformance: error: upgrade-check interrupted while running the upgrade "
        "command (sleep 30); the live probes' namespaces were deleted (a suite run deletes "
        "its own)\n"
    )
    assert not (tmp_path / "after.json").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--upgrade-command", " "], "--upgrade-command is empty"),
        (["--upgrade-command", "true", "--interval", "0"], "--interval must be"),
        (["--upgrade-command", "true", "--suites", "/nonexistent"], "--suites /nonexistent"),
        (["--upgrade-command", "true", "--simulate-faults", "leak-during-upgrade"], "seconds"),
        (["--upgrade-command", "true", "--simulate-faults", "no-such"], "unknown fault"),
        (["--upgrade-command", "true", "--simulate-faults-after", "nope"], "unknown fault"),
        (["--upgrade-command", "true", "--cni-daemonset", "calico-node"], "NAMESPACE/NAME"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    code = cli.main(upgrade_check(tmp_path, *options))
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "before.json").exists()


def _plan(tmp_path: Path, *options: str) -> check.Plan:
    parser = cli.build_parser()
    args = parser.parse_args(
        [
            "upgrade-check",
            "--suites",
            str(ROOT / "suites"),
            "--out",
            str(tmp_path),
            *options,
        ]
    )
    return check.plan_check(args, args.suite_options, print, tmp_path)


def test_upgrade_faults_need_the_simulated_cluster(tmp_path: Path) -> None:
    with pytest.raises(check.UsageError, match="need --cluster simulated"):
        _plan(
            tmp_path,
            "--upgrade-command",
            "x",
            "--cluster",
            "local",
            "--cni",
            "kube-router",
            "--simulate-faults",
            "reset-during-upgrade",
        )


def test_kind_keeps_its_cluster_between_the_runs_and_waits_for_the_profiles_daemonset(
    tmp_path: Path,
) -> None:
    plan = _plan(tmp_path, "--upgrade-command", "kubectl apply -f calico.yaml", "--cni", "calico")
    assert "--keep-cluster" in plan.suite.argv(tmp_path / "before.json")
    backend = KubeBackend(ClusterInfo("kind", "calico"), configuration=_configuration())
    watch = check.make_watch(plan, backend, backend.info)
    assert isinstance(watch, DaemonSetWatch) and watch.what == "kube-system/calico-node"
    other = _plan(
        tmp_path,
        "--upgrade-command",
        "x",
        "--cni",
        "calico",
        "--cni-daemonset",
        "calico-system/calico-node",
    )
    assert check.make_watch(other, backend, backend.info).what == "calico-system/calico-node"  # type: ignore[attr-defined]
    ready = _plan(tmp_path, "--upgrade-command", "x", "--ready-command", "helm status calico")
    assert isinstance(check.make_watch(ready, backend, backend.info), CommandWatch)


def test_an_existing_cluster_with_a_cni_of_no_known_daemonset_needs_one_named(
    tmp_path: Path,
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\n'
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    base = ["--upgrade-command", "x", "--cluster", "existing", "--kube-context", "c"]
    base += ["--kubeconfig", str(kubeconfig), "--cni"]
    with pytest.raises(check.UsageError, match="--cni-daemonset NAMESPACE/NAME or --ready-command"):
        _plan(tmp_path, *base, "kube-router")
    plan = _plan(tmp_path, *base, "kube-router", "--cni-daemonset", "kube-system/kube-router")
    assert plan.gate.cni_daemonset == ("kube-system", "kube-router")


def test_the_suite_options_given_are_passed_to_pytest_and_pytest_args_after_them(
    tmp_path: Path,
) -> None:
    plan = _plan(
        tmp_path,
        "--upgrade-command",
        "x",
        "--cluster",
        "local",
        "--cni",
        "kube-router",
        "--probe-timeout",
        "3",
        "--",
        "-k",
        "step5",
    )
    argv = plan.suite.argv(tmp_path / "b.json")
    assert argv[1:5] == ["-m", "pytest", str(ROOT / "suites"), "-n"]
    tail = argv[argv.index("--netpol-results") :]
    assert tail == [
        "--netpol-results",
        str(tmp_path / "b.json"),
        "--cluster",
        "local",
        "--cni",
        "kube-router",
        "--probe-timeout",
        "3",
        "-k",
        "step5",
    ]


def _configuration():  # type: ignore[no-untyped-def]
    from kubernetes import client

    cfg = client.Configuration()
    cfg.host = "https://127.0.0.1:1"
    return cfg


def test_a_namespace_of_arguments_is_what_the_command_gets() -> None:
    args = cli.build_parser().parse_args(["upgrade-check", "--upgrade-command", "x"])
    assert isinstance(args, argparse.Namespace) and args.func.__module__.endswith("upgrade_check")


def test_a_new_version_that_enforces_nothing_shows_the_first_leaks_and_where_the_rest_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = ("--upgrade-command", "true", "--simulate-faults-after", "no-enforcement")
    code = cli.main(upgrade_check(tmp_path, *options))
    out = capsys.readouterr().out
    assert code == 1, out
    leaks = int(re.search(r"FAIL: (\d+) leaks", out).group(1))  # type: ignore[union-attr]
    assert leaks > check.COMPARE_ROWS
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    more = f"... and {leaks - check.COMPARE_ROWS} more (netpol-conformance compare {before} {after}"
    assert more in out.replace("\n", " ").replace("  ", " ")
