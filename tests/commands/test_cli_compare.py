"""`netpol-conformance compare`: exit codes, the three formats, and one line on bad input."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from report_runs import blocks, make_run, no_enforcement_on

from netpol_conformance.cli import main
from netpol_conformance.results.versions import SCHEMA_VERSION
from netpol_conformance.results.write import write_results

S1 = "1-default-deny-ingress"
S2 = "2-allow-frontend-to-db"
REGRESSED = "frontend/web->backend/db:5432/TCP"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    paths = {name: root / f"{name}.json" for name in ("good", "faulty")}
    write_results(make_run(), paths["good"])
    fault_a = no_enforcement_on(S1, "production/api")
    fault_b = blocks(S2, {REGRESSED})
    write_results(
        make_run(version="v3.30.0", fault=lambda s, p, w: fault_a(s, p, w) or fault_b(s, p, w)),
        paths["faulty"],
    )
    return paths


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["compare", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_identical_runs_exit_0(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(files["good"]), str(files["good"]))
    assert code == 0 and "OK: nothing regressed or leaked (525 probes compared)" in out


def test_a_fault_exits_1_with_exactly_the_regressed_probes_leaks_first(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, str(files["good"]), str(files["faulty"]), "--format", "json")
    assert code == 1
    document = json.loads(out)
    listed = [(p["change"], p["scenario"], p["probe"]) for p in document["probes"]]
    leaks = [
        ("leak", S1, f"production/api->backend/{pod}:{port}/TCP")
        for pod in ("db", "cache", "web")
        for port in (80, 5432)
    ]
    assert listed == [*leaks, ("regression", S2, REGRESSED)]
    assert document["exit_code"] == 1 and document["passed"] is False
    assert document["metadata"] == [
        {"field": "CNI version", "before": "v3.29.3", "after": "v3.30.0"},
        {"field": "run status", "before": "passed", "after": "failed"},
    ]


def test_the_terminal_table_lists_leaks_before_regressions(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, str(files["good"]), str(files["faulty"]))
    assert code == 1
    assert out.index("Leaks: denied by the policies") < out.index("Regressions: as expected")
    assert "production/api->backend/db:80/TCP" in out and REGRESSED in out
    assert "FAIL: 6 leaks, 1 regression (525 probes compared)" in out


def test_markdown_for_a_pull_request(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, str(files["good"]), str(files["faulty"]), "--format", "markdown")
    assert code == 1
    assert out.startswith("## netpol-conformance compare: ")
    assert "**FAIL: 6 leaks, 1 regression (525 probes compared)**" in out
    assert f"| {S2} | `{REGRESSED}` | connected | ✓ connected | ✗ timeout |" in out
    assert out.index("### Leaks") < out.index("### Regressions")


@pytest.mark.parametrize("broken", ["truncated", "foreign", "missing", "major"])
def test_bad_input_exits_2_with_one_line_naming_the_file(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], broken: str
) -> None:
    bad = tmp_path / f"{broken}.json"
    text = files["good"].read_text()
    if broken == "truncated":
        bad.write_text(text[: len(text) // 3])
    elif broken == "foreign":
        bad.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": []}))
    elif broken == "major":
        version = f'"schema_version": "{SCHEMA_VERSION}"'
        assert version in text
        bad.write_text(text.replace(version, '"schema_version": "3.0"'))
    code, out, err = _run(capsys, str(files["good"]), str(bad))
    assert code == 2 and out == ""
    assert err.startswith(f"netpol-conformance: error: {bad}: ") and err.count("\n") == 1


def test_a_negative_threshold_is_a_usage_error(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, str(files["good"]), str(files["good"]), "--enforce-threshold", "-1")
    assert code == 2 and "--enforce-threshold -1: give seconds >= 0" in err


@pytest.fixture(scope="module")
def loud(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A comparison whose every format is far longer than a pipe holds (64 KiB): the reader
    below stops after 10 bytes, while compare still writes."""
    root = tmp_path_factory.mktemp("loud")
    paths = {"good": root / "good.json", "leaky": root / "leaky.json"}
    write_results(make_run(), paths["good"])
    write_results(make_run(enforces=False), paths["leaky"])
    return paths


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
@pytest.mark.parametrize(("after", "code"), [("leaky", 1), ("good", 0)])
def test_the_exit_code_is_the_verdicts_when_the_reader_stops_early(
    loud: dict[str, Path], fmt: str, after: str, code: int
) -> None:
    pipeline = (
        f"set -o pipefail; {shlex.quote(sys.executable)} -m netpol_conformance.cli compare "
        f"{loud['good']} {loud[after]} --format {fmt} | head -c 10 >/dev/null"
    )
    proc = subprocess.run(
        ["bash", "-c", pipeline], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr


def test_a_narrower_later_run_fails_unless_missing_probes_are_allowed(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    step0 = tmp_path / "step0.json"
    write_results(make_run(scenarios=("0-no-policies",)), step0)
    code, out, _ = _run(capsys, str(files["good"]), str(step0))
    assert code == 1
    assert "FAIL: 0 leaks, 0 regressions, 420 probes of the before run not probed after" in out
    code, out, _ = _run(capsys, str(files["good"]), str(step0), "--allow-missing")
    assert code == 0 and "OK: nothing regressed or leaked (105 probes compared)" in out
