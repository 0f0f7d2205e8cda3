"""The JSON Schema of the results document, as shipped in the package.

The file is generated from the records (``serialize.generated_schema``); a test fails when
the two differ. Write it again after changing a record::

    python -m netpol_conformance.results.schema
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

SCHEMA_FILE = "results.schema.json"


@cache
def results_schema() -> dict[str, Any]:
    text = resources.files("netpol_conformance.results").joinpath(SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    from netpol_conformance.results.serialize import generated_schema

    path = Path(__file__).with_name(SCHEMA_FILE)
    path.write_text(schema_text(generated_schema()), encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
