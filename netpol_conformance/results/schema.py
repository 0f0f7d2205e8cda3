"""The JSON Schema of the results document, shipped in the package, and validation against it."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

SCHEMA_FILE = "results.schema.json"


@cache
def results_schema() -> dict[str, Any]:
    text = resources.files("netpol_conformance.results").joinpath(SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(results_schema())


def schema_problem(document: Any) -> str | None:
    """The most relevant way ``document`` breaks the schema, as one line; None if it is valid."""
    error = best_match(_validator().iter_errors(document))
    if error is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    return f"{where.lstrip('.') or 'the document'}: {message}"
