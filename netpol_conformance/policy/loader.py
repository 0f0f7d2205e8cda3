"""Read YAML manifests: files with one or many documents, `kind: List`, or directories."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from netpol_conformance import strict_yaml
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


@dataclass(frozen=True)
class Manifests:
    """The documents found under some paths, and the files that held none."""

    documents: list[tuple[str, Any]]  # (source, document), in a stable order
    empty_files: list[str]  # files with no document (or only empty Lists): worth a warning


def read_manifests(paths: Iterable[str | Path]) -> Manifests:
    """Every non-empty document under ``paths``; one ManifestError lists every unreadable file."""
    out: list[tuple[str, Any]] = []
    empty: list[str] = []
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
                text = f.read_bytes().decode("utf-8")
                docs = [d for d in strict_yaml.load_all(text) if d is not None]
            except yaml.YAMLError as exc:
                line, message = strict_yaml.explain(exc)
                where = f"{f}:{line}" if line else str(f)
                problems.append(FieldProblem(where, "", "", f"not valid YAML: {message}"))
                continue
            except OSError as exc:
                problems.append(FieldProblem(str(f), "", "", f"cannot read: {exc.strerror}"))
                continue
            except UnicodeDecodeError as exc:
                message = f"cannot read: not UTF-8 text (byte {exc.start})"
                problems.append(FieldProblem(str(f), "", "", message))
                continue
            found = len(out)
            for i, doc in enumerate(docs):
                source = str(f) if len(docs) == 1 else f"{f}[{i}]"
                out.extend((source, item) for item in _expand(doc))
            if len(out) == found:
                empty.append(str(f))
    if problems:
        raise ManifestError(problems)
    return Manifests(out, empty)


def load_documents(paths: Iterable[str | Path]) -> list[tuple[str, Any]]:
    """Every non-empty document under ``paths`` as (source, document), in a stable order."""
    return read_manifests(paths).documents


def load_policies(paths: Iterable[str | Path]):
    """Load and validate every NetworkPolicy under ``paths``."""
    from netpol_conformance.policy.parse import parse_policies

    return parse_policies(load_documents(paths))
