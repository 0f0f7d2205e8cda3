"""The results document, both ways, and its JSON Schema: all three from the records' classes.

pydantic reads the dataclasses of ``records`` and ``upgrade`` (their fields, the descriptions
under them, their aliases and computed fields) and writes a run as JSON, validates a document
back into a run (naming the field that is wrong), and gives the schema shipped in the package.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from netpol_conformance.probe.outcome import Observation
from netpol_conformance.results.records import PROBE_FIELDS, RunRecord
from netpol_conformance.results.versions import FORMAT, SCHEMA_MAJOR, SCHEMA_VERSION


@cache
def _adapter() -> TypeAdapter[RunRecord]:
    return TypeAdapter(RunRecord)


def to_document(run: RunRecord) -> dict[str, Any]:
    """The results document of a run, as JSON values (``json.dumps`` takes it as is). A value
    JSON has no type for (a date in a YAML policy) is written as text, NaN as null."""
    text = _adapter().dump_json(run, by_alias=True, fallback=str)  # NaN, infinity: null
    return json.loads(text)


@cache
def _observation_adapter() -> TypeAdapter[Observation | None]:
    return TypeAdapter(Observation | None)


def observation_json(observation: Observation | None) -> dict[str, str] | None:
    """An observation as the results document writes it: ``category`` and ``detail``."""
    return _observation_adapter().dump_python(observation, mode="json", by_alias=True)


def document_text(run: RunRecord) -> str:
    return json.dumps(to_document(run), indent=1, allow_nan=False) + "\n"


class DocumentError(ValueError):
    """A document that is not a valid run, with where and why in one line."""


def run_of(document: dict[str, Any]) -> RunRecord:
    """The run a document (of the current schema's shape) holds; DocumentError otherwise."""
    try:
        text = json.dumps(_with_nested_probes(document))
        return _adapter().validate_json(text, strict=True)
    except ValidationError as exc:
        raise DocumentError(_first_problem(exc)) from None


def _with_nested_probes(document: dict[str, Any]) -> dict[str, Any]:
    """A probe is written as its fields beside its record's (``label``, ``from``, ...): they go
    back into the record's ``probe``. Anything not shaped so is left for validation to name."""
    steps = document.get("steps")
    if not isinstance(steps, list):
        return document
    out = []
    for i, step in enumerate(steps):
        if isinstance(step, dict) and isinstance(step.get("probes"), list):
            probes = [_nested(p, f"steps[{i}].probes[{j}]") for j, p in enumerate(step["probes"])]
            step = {**step, "probes": probes}
        out.append(step)
    return {**document, "steps": out}


def _nested(probe: Any, where: str) -> Any:
    if not isinstance(probe, dict):
        return probe
    missing = [key for key in ("from", "kind") if key not in probe]
    if missing:
        raise DocumentError(f"{where}.{missing[0]}: Field required")
    return {**probe, "probe": {attr: probe[key] for key, attr in PROBE_FIELDS if key in probe}}


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
    message = error["msg"]
    if error["type"] in ("literal_error", "enum"):
        message = f"{error['input']!r}: {message}"
    if len(message) > 160:
        message = message[:157] + "..."
    return f"{where.lstrip('.') or 'the document'}: {message}"


def generated_schema() -> dict[str, Any]:
    """The JSON Schema of what the writer writes, as the package ships it."""
    schema = _adapter().json_schema(mode="serialization", by_alias=True)
    header = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{FORMAT}/{SCHEMA_MAJOR}",
        "title": f"netpol-conformance results, schema {SCHEMA_MAJOR}.x (writes {SCHEMA_VERSION})",
        "description": (
            schema.pop("description", "") + " Versions: a minor version only adds optional "
            "fields, a major version is any other change; a reader accepts every minor version "
            "of its own major, so objects may hold fields this schema does not list."
        ),
    }
    return _one_line_descriptions({**header, **schema})


def _one_line_descriptions(node: Any) -> Any:
    """Descriptions come from docstrings wrapped at the code's width: joined into one line."""
    if isinstance(node, dict):
        return {
            k: " ".join(v.split())
            if k == "description" and isinstance(v, str)
            else _one_line_descriptions(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_one_line_descriptions(v) for v in node]
    return node
