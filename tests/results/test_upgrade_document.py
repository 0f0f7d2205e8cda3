"""The results document's upgrade section (since schema 1.2): written, validated, read back,
shown."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
from report_runs import make_run
from upgrade_records import connection, leak, probe, upgrade

from netpol_conformance.report.html_report import render_html
from netpol_conformance.results.load import from_document, load_results
from netpol_conformance.results.schema import results_schema
from netpol_conformance.results.serialize import to_document
from netpol_conformance.results.upgrade import UpgradeRecord, Window
from netpol_conformance.results.versions import SCHEMA_VERSION
from netpol_conformance.results.write import write_results


def _strict(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


RAW = upgrade(
    probes=(
        probe(windows=(Window(0.1, 0.6, 1, "timeout"),)),
        leak(),
        leak("a/b->c/<d>:80/TCP", enforced_on=("n1", "n2")),
    ),
    connections=(connection(stalls=(Window(0.5, 1.5, 1, "no answer"),)),),
    reasons=("1 denied probe got through",),
)


def _read_back(upgrade: UpgradeRecord) -> UpgradeRecord:
    """The upgrade as a results file keeps it: times rounded to the millisecond."""
    run = dataclasses.replace(make_run(scenarios=("0-no-policies",)), upgrade=upgrade)
    again = from_document(to_document(run), "memory").upgrade
    assert again is not None
    return again


RECORD = _read_back(RAW)


def test_an_upgrade_section_validates_strictly_and_reads_back_equal(tmp_path: Path) -> None:
    run = dataclasses.replace(make_run(scenarios=("1-default-deny-ingress",)), upgrade=RAW)
    path = tmp_path / "after.json"
    write_results(run, path)
    document = json.loads(path.read_text())
    assert document["schema_version"] == SCHEMA_VERSION == "2.3"
    jsonschema.validate(document, _strict(results_schema()), cls=jsonschema.Draft202012Validator)
    assert load_results(path).upgrade == RECORD
    assert RECORD.probes[0].windows[0].seconds == 0.5
    assert RECORD.probes[2].enforced_on == ("n1", "n2")
    assert to_document(load_results(path)) == document


def test_a_run_without_an_upgrade_has_no_section_and_a_1_0_file_still_reads() -> None:
    document = to_document(make_run(scenarios=("1-default-deny-ingress",)))
    assert "upgrade" not in document
    document["schema_version"] = "1.0"
    assert from_document(document, "old.json").upgrade is None


def test_the_report_page_shows_the_timeline_with_every_label_escaped() -> None:
    run = dataclasses.replace(make_run(scenarios=("1-default-deny-ingress",)), upgrade=RECORD)
    page = render_html(run)
    section = page[page.index('<section class="upgrade"') : page.index("</section>")]
    assert "\u2717 UPGRADE FAILED" in section
    assert "1 denied probe got through" in section
    assert '<svg class="chart timeline"' in section and "<script" not in page
    assert "c/&lt;d&gt;" in section and "c/<d>" not in section
    assert section.count('class="leak"') >= 2  # a bar per leak window (its first is a segment)
    assert "kube-router stopping" in section
    assert section.count("CNI version v2.1.0 -&gt; v2.1.0") == 1  # in the headline, once
    header = page[: page.index(section)]
    # a failed upgrade leads the page, even above a suite that passed after it
    assert '<span class="badge failed">\u2717 FAILED</span>the upgrade failed: ' in header
    assert "; the suite after it: " in header
    assert "PASSED" not in header
