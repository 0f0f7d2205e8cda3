"""Reading manifests: one or many documents, kind: List, directories, and broken files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from policy_helpers import netpol

from netpol_conformance.errors import ManifestError
from netpol_conformance.policy.loader import load_documents, load_policies, read_manifests


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


def test_a_key_written_twice_is_refused_with_its_line(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(netpol("x", "p")) + "kind: NetworkPolicy\n")
    with pytest.raises(ManifestError) as info:
        load_documents([f])
    (problem,) = info.value.problems
    assert problem.source == f"{f}:{len(f.read_text().splitlines())}"
    assert problem.message.startswith("not valid YAML: found key 'kind' a second time")


def test_files_without_a_document_are_named(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "comments.yaml").write_text("# nothing yet\n---\n")
    write(tmp_path / "list.yaml", {"apiVersion": "v1", "kind": "List", "items": []})
    full = write(tmp_path / "full.yaml", netpol("x", "p"))
    manifests = read_manifests([tmp_path])
    assert manifests.empty_files == [str(tmp_path / n) for n in ("comments.yaml", "empty.yaml",
                                                                 "list.yaml")]  # fmt: skip
    assert [source for source, _ in manifests.documents] == [str(full)]
