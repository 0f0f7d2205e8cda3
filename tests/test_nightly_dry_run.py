"""scripts/nightly-dry-run: the nightly workflow's steps run here with fakes for what GitHub and
Docker provide; a broken step fails it, naming the leg and the step."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DRY_RUN = ROOT / "scripts" / "nightly-dry-run"
WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"

pytestmark = pytest.mark.skipif(shutil.which("jq") is None, reason="needs jq (apt-get install jq)")


def dry_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DRY_RUN), "--legs", "calico-1.35", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_two_nights_of_a_leg_run_and_the_second_compares_with_the_first() -> None:
    done = dry_run("--nights", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "night 1, leg calico-k8s1.35: ok" in out and "night 2, leg calico-k8s1.35: ok" in out
    first, second = out.split("night 2, leg")
    assert "summary: no baseline" in first
    assert "summary: compared with night 1" in second
    assert "ok    Fail on a regression against the previous night" in second
    assert "skip  Upload the kind logs of a failed leg" in second  # nothing failed
    assert "ok    Host limits for kind" in first  # sudo and sysctl are stand-ins here


def broken(tmp_path: Path, change) -> Path:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    change(workflow["jobs"]["kind"]["steps"])
    path = tmp_path / "nightly.yml"
    path.write_text(yaml.safe_dump(workflow, sort_keys=False))
    return path


def test_an_artifact_the_baseline_step_cannot_find_fails_the_second_night(tmp_path: Path) -> None:
    """The upload names the artifact one way and the download looks for another: the second
    night finds no baseline, which a real night would only show as 'no earlier night'."""

    def rename(steps: list[dict]) -> None:
        (upload,) = [s for s in steps if s.get("with", {}).get("path") == "results/"]
        upload["with"]["name"] = "results-${{ env.LEG }}"

    done = dry_run("--nights", "2", "--workflow", str(broken(tmp_path, rename)))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "night 2, leg calico-k8s1.35: no baseline, although night 1 ran this leg" in (
        done.stderr
    )


def test_a_step_that_breaks_fails_the_dry_run_naming_the_leg_and_the_step(tmp_path: Path) -> None:
    def bad_flag(steps: list[dict]) -> None:
        previous = next(s for s in steps if s.get("id") == "previous")
        previous["run"] = previous["run"].replace("--status completed", "--status done")

    done = dry_run("--nights", "1", "--workflow", str(broken(tmp_path, bad_flag)))
    assert done.returncode == 1
    assert "night 1, leg calico-k8s1.35: a step failed" in done.stderr
    assert "FAIL  Previous night for this leg" in done.stderr
    assert "invalid argument 'done' for --status" in done.stderr


def test_a_report_of_a_missing_file_fails_the_dry_run(tmp_path: Path) -> None:
    def wrong_path(steps: list[dict]) -> None:
        report = next(s for s in steps if s.get("name") == "HTML report")
        report["run"] = 'netpol-conformance report "results/$LEG.jsn" --html out.html'

    done = dry_run("--nights", "1", "--workflow", str(broken(tmp_path, wrong_path)))
    assert done.returncode == 1 and "FAIL  HTML report" in done.stderr


def test_an_unknown_leg_is_one_line() -> None:
    done = subprocess.run(
        [sys.executable, str(DRY_RUN), "--legs", "calico-9.9"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "no leg calico-9.9: the legs are calico-1.35" in done.stderr
