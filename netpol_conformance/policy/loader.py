"""Read YAML manifests: files with one or many documents, `kind: List`, or directories."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from netpol_conformance.errors import FieldProblem, ManifestError

YAML_SUFFIXES = (".yaml", ".yml")


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
    return [path]


def _expand(doc: Any) -> list[Any]:
    if isinstance(doc, Mapping) and doc.get("kind") == "List" and "items" in doc:
        return list(doc.get("items") or [])
    return [doc]


def load_documents(paths: Iterable[str | Path]) -> list[tuple[str, Any]]:
    """Every non-empty document under ``paths`` as (source, document), in a stable order."""
    out: list[tuple[str, Any]] = []
    problems: list[FieldProblem] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            problems.append(FieldProblem(str(path), "", "", "no such file or directory"))
            continue
        files = _files(path)
        if path.is_dir() and not files:
            problems.append(FieldProblem(str(path), "", "", "directory holds no .yaml/.yml file"))
        for f in files:
            try:
                docs = [d for d in yaml.safe_load_all(f.read_text()) if d is not None]
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f"{f}:{mark.line + 1}" if mark else str(f)
                problems.append(FieldProblem(where, "", "", f"not valid YAML: {exc}"))
                continue
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(FieldProblem(str(f), "", "", f"cannot read: {exc}"))
                continue
            for i, doc in enumerate(docs):
                source = str(f) if len(docs) == 1 else f"{f}[{i}]"
                out.extend((source, item) for item in _expand(doc))
    if problems:
        raise ManifestError(problems)
    return out


def load_policies(paths: Iterable[str | Path]):
    """Load and validate every NetworkPolicy under ``paths``."""
    from netpol_conformance.policy.parse import parse_policies

    return parse_policies(load_documents(paths))
