"""Reading manifests: one or many documents, kind: List, directories, and broken files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from policy_helpers import netpol

from netpol_conformance.errors import ManifestError
from netpol_conformance.policy.loader import load_documents, load_policies


def write(path: Path, *docs: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs))
    return path


def test_single_document_file_is_named_by_its_path(tmp_path: Path) -> None:
    f = write(tmp_path / "p.yaml", netpol("x", "p"))
    (policy,) = load_policies([f])
    assert (policy.key, policy.source) == ("x/p", str(f))


def test_multi_document_file_names_each_document(tmp_path: Path) -> None:
    f = write(tmp_path / "p.yaml", netpol("x", "p"), netpol("x", "q"))
    assert [(p.key, p.source) for p in load_policies([f])] == [
        ("x/p", f"{f}[0]"),
        ("x/q", f"{f}[1]"),
    ]


def test_empty_documents_are_skipped(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("---\n" + yaml.safe_dump(netpol("x", "p")) + "---\n")
    assert [(p.key, p.source) for p in load_policies([f])] == [("x/p", str(f))]


def test_kind_list_is_expanded(tmp_path: Path) -> None:
    items = {"apiVersion": "v1", "kind": "List", "items": [netpol("x", "p"), netpol("y", "p")]}
    f = write(tmp_path / "list.yml", items)
    assert [p.key for p in load_policies([f])] == ["x/p", "y/p"]


def test_directories_are_read_recursively_in_a_stable_order(tmp_path: Path) -> None:
    write(tmp_path / "b" / "two.yaml", netpol("x", "two"))
    write(tmp_path / "a.yml", netpol("x", "one"))
    (tmp_path / "notes.txt").write_text("not yaml: [")
    docs = load_documents([tmp_path])
    assert [d["metadata"]["name"] for _, d in docs] == ["one", "two"]


def test_several_paths_accumulate(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", netpol("x", "p"))
    b = write(tmp_path / "b.yaml", netpol("y", "p"))
    assert {p.key for p in load_policies([a, b])} == {"x/p", "y/p"}


def test_missing_paths_bad_yaml_and_empty_directories_are_all_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: NetworkPolicy\nspec: [\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ManifestError) as info:
        load_documents([bad, missing, empty])
    sources = [p.source for p in info.value.problems]
    assert sources[0].startswith(f"{bad}:")  # with the line of the error
    assert sources[1:] == [str(missing), str(empty)]
    assert "not valid YAML" in info.value.problems[0].message
    assert info.value.problems[1].message == "no such file or directory"


def test_undecodable_file_is_reported(tmp_path: Path) -> None:
    f = tmp_path / "latin1.yaml"
    f.write_bytes(b"kind: \xe9\xff\n")
    with pytest.raises(ManifestError) as info:
        load_documents([f])
    assert info.value.problems[0].source == str(f)


def test_invalid_policy_in_a_file_names_the_document(tmp_path: Path) -> None:
    f = write(tmp_path / "p.yaml", netpol("x", "ok"), netpol("x", "bad", ingress=[{"form": []}]))
    with pytest.raises(ManifestError) as info:
        load_policies([f])
    (problem,) = info.value.problems
    assert (problem.source, problem.obj, problem.path) == (
        f"{f}[1]",
        "NetworkPolicy x/bad",
        "spec.ingress[0].form",
    )
