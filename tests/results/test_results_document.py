"""The results document: its schema, the atomic writer, and the loader's refusals."""

from __future__ import annotations

import copy
import errno
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from report_runs import blocks, make_run
from report_strategies import runs

from netpol_conformance.cli import main
from netpol_conformance.errors import ResultsFileError, ResultsWriteError
from netpol_conformance.probe.outcome import Outcome
from netpol_conformance.report.summary import summarize
from netpol_conformance.results.load import from_document, load_results
from netpol_conformance.results.records import RunRecord
from netpol_conformance.results.schema import results_schema, schema_text
from netpol_conformance.results.serialize import document_text, generated_schema, to_document
from netpol_conformance.results.versions import FORMAT, SCHEMA_VERSION
from netpol_conformance.results.write import write_atomically, write_results


def _strict(schema: Any) -> Any:
    """The schema with additionalProperties false wherever it lists properties: output that
    carries a field the schema does not document fails it."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def _failing_run() -> RunRecord:
    fault = blocks("2-allow-frontend-to-db", {"frontend/web->backend/db:5432/TCP"})
    return make_run(
        fault=fault,
        setup_errors={"forgot-dns-egress": "namespace backend-x did not become ready"},
    )


@pytest.mark.parametrize("run", [make_run(), _failing_run()], ids=["passed", "failed"])
def test_real_output_validates_against_the_shipped_schema(run: RunRecord, tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    write_results(run, path)
    document = json.loads(path.read_text())
    schema = results_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    jsonschema.validate(document, _strict(schema), cls=jsonschema.Draft202012Validator)
    assert document["format"] == FORMAT and document["schema_version"] == SCHEMA_VERSION


def test_the_document_holds_every_field_a_reader_needs() -> None:
    document = to_document(_failing_run())
    assert document["cluster"]["nodes"][0] == {
        "name": "node-a",
        "pods": ["frontend/web", "frontend/admin", "backend/db", "backend/cache"],
    }
    assert document["cni"] == {
        "name": "calico",
        "version": "v3.29.3",
        "enforces": True,
        "deny_style": "drop",
    }
    assert document["setup_errors"] == [
        {"scenario": "forgot-dns-egress", "error": "namespace backend-x did not become ready"}
    ]
    step = next(s for s in document["steps"] if s["step"] == "2-allow-frontend-to-db")
    assert step["converged"] is False and step["time_to_enforce"] is None
    assert step["policies"][0]["kind"] == "NetworkPolicy"
    probe = next(p for p in step["probes"] if p["label"] == "frontend/web->backend/db:5432/TCP")
    assert probe["from"] == "frontend/web" and probe["to"] == "backend/db"
    assert (probe["port"], probe["protocol"], probe["kind"]) == (5432, "TCP", "tcp")
    assert probe["expected"] == "connected" and probe["met"] is False
    assert probe["observed"]["category"] == "timeout"
    assert probe["attempts"] == len(probe["history"]) == 3
    assert probe["command"].startswith("kubectl exec -n frontend-")
    assert probe["path"] == "same-node"
    summary = document["summary"]
    assert (summary["not_met"], summary["setup_errors"], summary["steps"]) == (1, 1, 4)


def test_a_written_file_loads_back_to_the_same_run(tmp_path: Path) -> None:
    run = _failing_run()
    write_results(run, tmp_path / "r.json")
    assert load_results(tmp_path / "r.json") == run


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs)
def test_document_load_document_round_trips(run: RunRecord) -> None:
    document = json.loads(document_text(run))
    again = from_document(document, "mem")
    assert to_document(again) == document
    assert again == run


# --- the loader refuses, with one line naming the file -------------------------------------------


def _refusal(path: Path) -> str:
    with pytest.raises(ResultsFileError) as info:
        load_results(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    assert info.value.exit_code == 2
    return message


def test_refuses_a_missing_file(tmp_path: Path) -> None:
    assert "cannot read it: No such file or directory" in _refusal(tmp_path / "none.json")


def test_refuses_a_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    text = document_text(make_run(scenarios=("0-no-policies",)))
    path.write_text(text[: len(text) // 2])
    assert "not JSON" in _refusal(path)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('{"kind": "List", "items": []}', "not a netpol-conformance results file"),
        ("[1, 2]", "not a netpol-conformance results file"),
        ('{"results": [{"test": "t", "outcome": "passed"}]}', "before schema versions"),
        ("\x89PNG", "not JSON"),
    ],
)
def test_refuses_a_foreign_file(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "other.json"
    path.write_text(content)
    assert says in _refusal(path)


def test_refuses_another_schema_major_and_accepts_a_newer_minor(tmp_path: Path) -> None:
    document = to_document(make_run(scenarios=("1-default-deny-ingress",)))
    newer = copy.deepcopy(document)
    newer["schema_version"] = "2.9"
    newer["added_in_2_9"] = {"anything": True}
    newer["steps"][0]["probes"][0]["added_in_2_9"] = 1
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    assert load_results(tmp_path / "newer.json") == from_document(document, "x")
    document["schema_version"] = "3.0"
    (tmp_path / "major.json").write_text(json.dumps(document))
    assert "results schema 3.0, but this netpol-conformance reads 1.x and 2.x" in _refusal(
        tmp_path / "major.json"
    )


def test_a_file_of_schema_1_still_loads(tmp_path: Path) -> None:
    """Written by the release before 2.0: none of the fields 2.0 added, verdicts as they were."""
    document = to_document(
        make_run(fault=blocks("2-allow-frontend-to-db", {"frontend/web->backend/db:5432/TCP"}))
    )
    document["schema_version"] = "1.2"
    document.pop("lost")
    for step in document["steps"]:
        step.pop("poll_times")
        for probe in step["probes"]:
            probe.pop("flap")
            probe.pop("listening")
    (tmp_path / "old.json").write_text(json.dumps(document))
    old = load_results(tmp_path / "old.json")
    assert old.lost == {} and not old.inconsistent
    assert [r.met for s in old.steps for r in s.probes] == [
        r.met
        for s in make_run(
            fault=blocks("2-allow-frontend-to-db", {"frontend/web->backend/db:5432/TCP"})
        ).steps
        for r in s.probes
    ]


def test_refuses_a_broken_field_naming_where(tmp_path: Path) -> None:
    document = to_document(make_run(scenarios=("1-default-deny-ingress",)))
    document["steps"][0]["probes"][3]["expected"] = "blocked"
    (tmp_path / "r.json").write_text(json.dumps(document))
    message = _refusal(tmp_path / "r.json")
    assert "steps[0].probes[3].expected" in message and "'blocked'" in message


# --- the writer: all or nothing --------------------------------------------------------------


def test_write_replaces_an_earlier_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "out" / "results.json"
    path.parent.mkdir()
    path.write_text("earlier run")
    write_results(make_run(scenarios=("0-no-policies",)), path)
    assert load_results(path).steps[0].scenario == "0-no-policies"
    assert os.listdir(path.parent) == ["results.json"]


def test_a_full_disk_is_one_line_and_leaves_the_earlier_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "results.json"
    path.write_text("earlier")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ResultsWriteError) as info:
        write_atomically(path, "new", "the results file")
    assert str(info.value) == f"cannot write the results file {path}: No space left on device"
    assert path.read_text() == "earlier"
    assert os.listdir(tmp_path) == ["results.json"]


def test_a_write_into_a_file_instead_of_a_directory_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResultsWriteError, match=r"cannot write the results file: .*Not a direc"):
        write_atomically(tmp_path / "file" / "results.json", "new", "the results file")


def test_an_interrupted_write_leaves_the_earlier_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "results.json"
    path.write_text("earlier")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, "new " * 1000)
    assert path.read_text() == "earlier"
    assert os.listdir(tmp_path) == ["results.json"]


def test_outcomes_in_the_schema_are_the_outcomes_of_the_code() -> None:
    enum = results_schema()["$defs"]["Outcome"]["enum"]
    assert enum == [o.value for o in Outcome]


def test_a_hand_edited_verdict_is_judged_from_its_own_observation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """met flipped to true and every status to passed: the observation still says otherwise."""
    path = tmp_path / "edited.json"
    blocked = "frontend/web->backend/db:5432/TCP"
    write_results(make_run(fault=blocks("2-allow-frontend-to-db", {blocked})), path)
    doc = json.loads(path.read_text())
    doc["status"] = "passed"
    for step in doc["steps"]:
        for probe in step["probes"]:
            probe["met"] = True
    for test in doc["tests"]:
        test["outcome"] = "passed"
    path.write_text(json.dumps(doc))
    run = load_results(path)
    assert len(run.inconsistent) == 1 and blocked in run.inconsistent[0]
    assert "stored as met, but its observation (timeout) does not meet" in run.inconsistent[0]
    step = next(s for s in run.steps if s.scenario == "2-allow-frontend-to-db")
    record = step.probe(next(r.probe for r in step.probes if r.probe.label == blocked))
    assert not record.met
    assert record.observed is not None and record.observed.outcome is Outcome.TIMEOUT
    summary = summarize(run)
    assert summary.verdict == "failed" and "contradict" in summary.headline
    assert main(["compare", str(path), str(path)]) == 1
    assert "stored verdicts contradict their own observations" in capsys.readouterr().out


@pytest.mark.parametrize("depth", [100_000])
def test_deeply_nested_json_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], depth: int
) -> None:
    """Not a RecursionError traceback with exit 1, the code compare uses for regressions."""
    document = json.loads(document_text(make_run(scenarios=("0-no-policies",))))
    path = tmp_path / "deep.json"
    nested = "[" * depth + "]" * depth
    text = json.dumps(document).replace('"options": {', f'"options": {{"deep": {nested}, ', 1)
    path.write_text(text)
    assert main(["compare", str(path), str(path)]) == 2
    err = capsys.readouterr().err
    assert "nested too deeply" in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_nan_time_to_enforce_is_refused(tmp_path: Path) -> None:
    text = document_text(make_run(scenarios=("1-default-deny-ingress",)))
    path = tmp_path / "nan.json"
    path.write_text(text.replace('"time_to_enforce": 1.4', '"time_to_enforce": NaN', 1))
    assert "NaN is not a JSON number" in _refusal(path)


# --- one definition: the records give the writer, the reader and the schema ------------------


def test_the_shipped_schema_is_the_one_the_records_generate() -> None:
    shipped = (
        Path(__file__).parents[2] / "netpol_conformance" / "results" / "results.schema.json"
    ).read_text(encoding="utf-8")
    assert shipped == schema_text(generated_schema()), (
        "the results schema shipped in the package differs from the records: run "
        "python -m netpol_conformance.results.schema and commit the file"
    )


def test_every_record_field_has_a_description_in_the_schema() -> None:
    """The schema is the results file's reference: a field without words fails here."""
    undescribed = [
        f"{name}.{field}"
        for name, definition in results_schema()["$defs"].items()
        for field, spec in definition.get("properties", {}).items()
        if "description" not in spec and "$ref" not in spec and field not in _SELF_EXPLAINING
    ]
    assert not undescribed, undescribed


_SELF_EXPLAINING = {
    "met", "port", "protocol", "name", "nodeid", "scenario", "error", "polls", "start",
    "category", "samples", "steps", "probes", "label", "agent", "at", "round_trips", "source",
    "upgrade_command", "notes", "cni_version_before", "cni_version_after", "connections",
    "events", "segments", "longest", "seconds", "passed", "format", "expected", "nodes",
    "pods", "stalls", "windows", "tests", "setup_errors", "lost",
}  # fmt: skip


OLD = Path(__file__).parent / "data" / "results-2.0.json"  # written by the 2.0 writer


def test_a_file_of_the_previous_release_loads_and_compares_equal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = load_results(OLD)
    run = make_run(
        scenarios=("2-allow-frontend-to-db",),
        fault=blocks("2-allow-frontend-to-db", {"frontend/web->backend/db:5432/TCP"}),
        setup_errors={"forgot-dns-egress": "namespace backend-x did not become ready"},
    )

    def seen(r: RunRecord) -> list[tuple[object, ...]]:
        return [
            (s.step, p.probe, p.expected, p.observed, p.met, p.history, p.command, p.path)
            for s in r.steps
            for p in s.probes
        ]

    assert seen(old) == seen(run) and len(seen(run)) == 105
    assert old.setup_errors == run.setup_errors
    assert old.lost == {"4-namespace-isolation": "worker gw1 died"}
    assert old.upgrade is not None and old.upgrade.reasons == ("1 denied probe got through",)
    write_results(run, tmp_path / "new.json")
    assert main(["compare", str(OLD), str(tmp_path / "new.json")]) == 0
    assert "nothing regressed or leaked (105 probes compared)" in capsys.readouterr().out


def test_a_probe_without_its_source_is_refused_naming_the_field(tmp_path: Path) -> None:
    document = to_document(make_run(scenarios=("1-default-deny-ingress",)))
    del document["steps"][0]["probes"][2]["from"]
    (tmp_path / "r.json").write_text(json.dumps(document))
    assert "steps[0].probes[2].from: Field required" in _refusal(tmp_path / "r.json")


def test_a_probe_of_an_impossible_kind_and_protocol_is_refused(tmp_path: Path) -> None:
    document = to_document(make_run(scenarios=("1-default-deny-ingress",)))
    probe = next(p for p in document["steps"][0]["probes"] if p["kind"] == "tcp")
    probe["protocol"] = "UDP"
    (tmp_path / "r.json").write_text(json.dumps(document))
    message = _refusal(tmp_path / "r.json")
    assert "steps[0].probes[" in message and "a tcp probe has protocol TCP, not UDP" in message


@pytest.mark.parametrize(
    ("path", "value", "says"),
    [
        (("status",), "fine", "status: 'fine': Input should be"),
        (("steps", 0, "polls"), "3", "steps[0].polls: Input should be a valid integer"),
        (("steps", 0, "converged"), 1, "steps[0].converged: Input should be a valid boolean"),
        (("cni", "enforces"), "true", "cni.enforces: Input should be a valid boolean"),
        (("setup_errors",), [{"scenario": "x"}], "setup_errors: Value error, every entry"),
    ],
)
def test_the_reader_is_strict_about_types(
    tmp_path: Path, path: tuple[str | int, ...], value: object, says: str
) -> None:
    """A string where a number belongs is refused, not quietly turned into one."""
    document = to_document(make_run(scenarios=("1-default-deny-ingress",)))
    node: Any = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    (tmp_path / "r.json").write_text(json.dumps(document))
    assert says in _refusal(tmp_path / "r.json")


def test_values_json_lacks_are_written_as_json_has_them(tmp_path: Path) -> None:
    """An infinite time to enforce is null, a date in an option is text, and anything else
    becomes its text: the file is written, and reads back."""
    import dataclasses
    import datetime
    import math

    run = make_run(scenarios=("1-default-deny-ingress",))
    step = dataclasses.replace(run.steps[0], time_to_enforce=math.inf)
    options = {**run.options, "since": datetime.date(2026, 12, 6), "odd": object()}
    run = dataclasses.replace(run, steps=(step,), options=options)
    write_results(run, tmp_path / "r.json")
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["steps"][0]["time_to_enforce"] is None
    assert document["options"]["since"] == "2026-12-06"
    assert document["options"]["odd"].startswith("<object object")
    assert load_results(tmp_path / "r.json").steps[0].time_to_enforce is None
