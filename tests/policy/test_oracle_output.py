"""The streamed outputs of `simulate` say exactly what the oracle's matrix says (hypothesis)."""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle_strategies import NAMESPACES, Doc, policy_sets, topologies
from policy_helpers import basic, build

from netpol_conformance.model.topology import Pod, Topology
from netpol_conformance.policy.matrix_json import write_results_json
from netpol_conformance.policy.matrix_selection import Selection
from netpol_conformance.policy.matrix_tables import (
    EXTERNALS,
    write_namespace_tables,
    write_pod_tables,
)
from netpol_conformance.policy.oracle import Matrix, Oracle

FAST = settings(max_examples=60, deadline=None)

CellKey = tuple[str, str, int, str]


def selected_cells(matrix: Matrix, selection: Selection) -> list[tuple[CellKey, bool]]:
    """The matrix's cells restricted to a selection, in the matrix's own order."""
    sources = {matrix.topology.pods[i].key for i in selection.sources.tolist()}
    dsts = {matrix.topology.endpoints[i].key for i in selection.destinations.tolist()}
    return [
        ((c.src, c.dst, c.port, c.protocol), c.allowed)
        for c in matrix.cells()
        if c.src in sources and c.dst in dsts
    ]


@st.composite
def selections(draw: st.DrawFn, topology: Topology) -> Selection:
    names = [*NAMESPACES, *(e.name for e in topology.externals)]
    return Selection.of(
        topology,
        draw(st.sets(st.sampled_from(NAMESPACES), max_size=2)),
        draw(st.sets(st.sampled_from(names), max_size=2)),
    )


# --- JSON


@FAST
@given(topologies(), policy_sets(), st.data())
def test_streamed_json_is_the_matrix_in_its_order(
    topology: Topology, docs: list[Doc], data: st.DataObject
) -> None:
    oracle = Oracle(topology, build(*docs))
    matrix = oracle.matrix()
    selection = data.draw(selections(topology))
    out = io.StringIO()
    count = write_results_json(matrix, out, selection)
    results = json.loads(out.getvalue())["results"]
    assert [((r["from"], r["to"], r["port"], r["protocol"]), r["allowed"]) for r in results] == (
        selected_cells(matrix, selection)
    )
    assert count == len(results)
    assert all(list(r) == ["from", "to", "port", "protocol", "allowed"] for r in results)


@FAST
@given(topologies(), policy_sets())
def test_explained_json_carries_the_reason_of_every_result(
    topology: Topology, docs: list[Doc]
) -> None:
    oracle = Oracle(topology, build(*docs))
    matrix = oracle.matrix()
    out = io.StringIO()

    def explain(src: str, dst: str, port: int, protocol: str) -> str:
        return oracle.explain(src, dst, port, protocol).reason

    write_results_json(matrix, out, Selection.of(topology), explain)
    results = json.loads(out.getvalue())["results"]
    assert [((r["from"], r["to"], r["port"], r["protocol"]), r["allowed"]) for r in results] == (
        selected_cells(matrix, Selection.of(topology))
    )
    for r in results:
        verdict = oracle.explain(r["from"], r["to"], r["port"], r["protocol"])
        assert (r["reason"], r["allowed"]) == (verdict.reason, verdict.allowed)


class Recorder(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def test_json_is_written_one_source_at_a_time() -> None:
    topology = basic()
    matrix = Oracle(topology, []).matrix()
    out = Recorder()
    write_results_json(matrix, out, Selection.of(topology))
    blocks = [w for w in out.writes if '"from"' in w]
    assert len(blocks) == len(topology.pods)
    for block, pod in zip(blocks, topology.pods, strict=True):
        assert set(re.findall(r'"from": "([^"]+)"', block)) == {pod.key}
    lines = out.getvalue().splitlines()
    assert lines[0] == '{"results": [' and lines[-1] == "]}"
    assert all(json.loads(line.rstrip(",")) for line in lines[1:-1])  # one result per line


def test_nothing_selected_is_still_a_document() -> None:
    topology = basic()
    out = io.StringIO()
    empty = Selection(np.array([], np.intp), np.array([], np.intp))
    assert write_results_json(Oracle(topology, []).matrix(), out, empty) == 0
    assert json.loads(out.getvalue()) == {"results": []}


# --- tables


def parse_pod_tables(text: str) -> dict[tuple[str, str, int, str], str]:
    """{(from, to, port, protocol): mark} from pod tables."""
    marks: dict[tuple[str, str, int, str], str] = {}
    key: tuple[int, str] | None = None
    columns: list[str] = []
    for line in text.splitlines():
        title = re.match(r"^(\d+)/(TCP|UDP|SCTP)  \(\. allowed, X denied\)$", line)
        if title:
            key, columns = (int(title.group(1)), title.group(2)), []
        elif line.startswith("from \\ to"):
            columns = line.split()[3:]
        elif columns and line and not line.startswith("─"):
            row, *cells = line.split()
            assert key is not None and len(cells) == len(columns), line
            marks.update({(row, c, *key): m for c, m in zip(columns, cells, strict=True)})
    return marks


@FAST
@given(topologies(), policy_sets(), st.data())
def test_pod_tables_mark_every_cell_as_the_matrix_says(
    topology: Topology, docs: list[Doc], data: st.DataObject
) -> None:
    matrix = Oracle(topology, build(*docs)).matrix()
    selection = data.draw(selections(topology))
    out = io.StringIO()
    write_pod_tables(matrix, out, selection)
    marks = parse_pod_tables(out.getvalue())
    expected = dict(selected_cells(matrix, selection))
    assert {k: m for k, m in marks.items() if m != "-"} == {
        k: "." if ok else "X" for k, ok in expected.items()
    }


def group_of(topology: Topology, key: str) -> str:
    endpoint = topology.endpoint(key)
    return endpoint.namespace if isinstance(endpoint, Pod) else EXTERNALS


def parse_namespace_tables(text: str) -> dict[tuple[int, str], dict[str, Any]]:
    tables: dict[tuple[int, str], dict[str, Any]] = {}
    table: dict[str, Any] = {}
    columns: list[str] = []
    for line in text.splitlines():
        title = re.match(r"^(\d+)/(TCP|UDP|SCTP) by namespace: ([\d,]+) of ([\d,]+) allowed", line)
        if title:
            table = {"allowed": int(title.group(3).replace(",", "")),
                     "total": int(title.group(4).replace(",", "")), "cells": {}}  # fmt: skip
            tables[(int(title.group(1)), title.group(2))] = table
            columns = []
        elif line.startswith("from \\ to"):
            columns = line.split()[3:]
        elif columns and line and not line.startswith("─"):
            row, *cells = line.split()
            assert len(cells) == len(columns), line
            table["cells"].update({(row, c): m for c, m in zip(columns, cells, strict=True)})
    return tables


@FAST
@given(topologies(), policy_sets(), st.data())
def test_namespace_tables_sum_up_the_matrix(
    topology: Topology, docs: list[Doc], data: st.DataObject
) -> None:
    matrix = Oracle(topology, build(*docs)).matrix()
    selection = data.draw(selections(topology))
    out = io.StringIO()
    write_namespace_tables(matrix, out, selection)
    tables = parse_namespace_tables(out.getvalue())
    counts: dict[tuple[int, str], dict[tuple[str, str], list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    for (src, dst, port, protocol), ok in selected_cells(matrix, selection):
        cell = counts[(port, protocol)][(group_of(topology, src), group_of(topology, dst))]
        cell[0] += ok
        cell[1] += 1
    assert set(tables) == set(counts)
    for key, table in tables.items():
        assert table["allowed"] == sum(a for a, _ in counts[key].values())
        assert table["total"] == sum(t for _, t in counts[key].values())
        for pair, mark in table["cells"].items():
            allowed, total = counts[key].get(pair, (0, 0))
            if total == 0:
                assert mark == "-", pair
            elif allowed in (0, total):
                assert mark == ("." if allowed else "X"), pair
            else:
                shown = int(mark.removesuffix("%"))
                assert mark.endswith("%") and 1 <= shown <= 99, pair
                assert abs(shown - 100 * allowed / total) <= 0.5 + 1e-9 or shown in (1, 99), pair


def test_namespace_rows_and_columns_follow_the_topology_order() -> None:
    topology = basic()  # namespaces x, y, z, then the externals
    out = io.StringIO()
    write_namespace_tables(Oracle(topology, []).matrix(), out, Selection.of(topology))
    headers = [line.split()[3:] for line in out.getvalue().splitlines() if line.startswith("from")]
    assert headers == [["x", "y", "z"], ["x", "y", "z"], [EXTERNALS]]  # 53/UDP, 80/TCP, 443/TCP
