"""Connectivity as plain-text tables for people, written row by row as they are computed.

Two views, one table per port/protocol each:

* pod tables: a row per source pod, a column per destination serving the port, one mark per
  connection (``.`` allowed, ``X`` denied, ``-`` none: the pod itself);
* namespace tables: a row per source namespace, a column per destination namespace (external
  hosts together), each cell saying whether all, none or which share of its connections are
  allowed. This is the view that still reads at thousands of pods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

import numpy as np

from netpol_conformance.model.topology import Pod
from netpol_conformance.policy.matrix_selection import Selection
from netpol_conformance.policy.oracle import Matrix, PortKey

CORNER = "from \\ to"
GAP = "  "
EXTERNALS = "(externals)"  # no namespace can be called this


def _header(out: TextIO, first_width: int, columns: Sequence[str]) -> None:
    line = CORNER.ljust(first_width) + GAP + GAP.join(columns)
    out.write(line + "\n" + "─" * len(line) + "\n")


def _serving(matrix: Matrix, selection: Selection, key: PortKey) -> np.ndarray:
    """Selected destinations that serve ``key`` to at least one selected source."""
    dsts = selection.destinations
    if not dsts.size or not selection.sources.size:
        return dsts[:0]
    return dsts[matrix.valid_mask(key)[np.ix_(selection.sources, dsts)].any(axis=0)]


def write_pod_tables(matrix: Matrix, out: TextIO, selection: Selection) -> None:
    """One truth table per port/protocol: rows are source pods, columns destinations."""
    endpoints = matrix.topology.endpoints
    pods = matrix.topology.pods
    first = True
    for key in matrix.keys:
        columns = _serving(matrix, selection, key)
        if not columns.size:
            continue
        names = [endpoints[d].key for d in columns.tolist()]
        rows = [pods[s].key for s in selection.sources.tolist()]
        first_width = max(len(CORNER), *map(len, rows))
        # marks[j, code]: column j's cell for code 0 (no connection), 1 (allowed), 2 (denied)
        marks = np.array([[m.center(len(n)) for m in "-.X"] for n in names], dtype=object)
        index = np.arange(len(names))
        allowed, valid = matrix.allowed_mask(key), matrix.valid_mask(key)
        out.write(("" if first else "\n") + f"{key[0]}/{key[1]}  (. allowed, X denied)\n")
        first = False
        _header(out, first_width, names)
        for s, row in zip(selection.sources.tolist(), rows, strict=True):
            codes = np.where(valid[s, columns], np.where(allowed[s, columns], 1, 2), 0)
            line = row.ljust(first_width) + GAP + GAP.join(marks[index, codes].tolist())
            out.write(line.rstrip() + "\n")


def _groups(
    labels: Sequence[str], ranking: Sequence[str]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The distinct labels in ``ranking`` order, an order of the items that groups equal labels
    (stable), and where each group starts in that order."""
    present = set(labels)
    index = {name: i for i, name in enumerate(n for n in ranking if n in present)}
    ids = np.fromiter((index[x] for x in labels), np.intp, len(labels))
    order = np.argsort(ids, kind="stable")
    starts = np.searchsorted(ids[order], np.arange(len(index)))
    return list(index), order, starts


Groups = tuple[np.ndarray, np.ndarray]  # (order, starts) from _groups


def _sum_groups(cells: np.ndarray, rows: Groups, columns: Groups) -> np.ndarray:
    """How many cells are set in each (row group, column group)."""
    by_row = np.add.reduceat(cells[rows[0]], rows[1], axis=0, dtype=np.int64)
    return np.add.reduceat(by_row[:, columns[0]], columns[1], axis=1, dtype=np.int64)


def _share(allowed: int, total: int) -> str:
    if total == 0:
        return "-"
    if allowed == total:
        return "."
    if allowed == 0:
        return "X"
    return f"{min(99, max(1, round(100 * allowed / total)))}%"


def write_namespace_tables(matrix: Matrix, out: TextIO, selection: Selection) -> None:
    """One table per port/protocol: rows are source namespaces, columns destination namespaces
    and the external hosts; each cell sums up the connections between the two."""
    endpoints = matrix.topology.endpoints
    pods = matrix.topology.pods
    sources = selection.sources
    ranking = [*(n.name for n in matrix.topology.namespaces), EXTERNALS]
    src_names, src_order, src_starts = _groups(
        [pods[s].namespace for s in sources.tolist()], ranking
    )
    first = True
    for key in matrix.keys:
        columns = _serving(matrix, selection, key)
        if not columns.size:
            continue
        dst_labels = [
            e.namespace if isinstance(e, Pod) else EXTERNALS
            for e in (endpoints[d] for d in columns.tolist())
        ]
        dst_names, dst_order, dst_starts = _groups(dst_labels, ranking)
        valid = matrix.valid_mask(key)[np.ix_(sources, columns)]
        allowed = matrix.allowed_mask(key)[np.ix_(sources, columns)] & valid

        src_groups, dst_groups = (src_order, src_starts), (dst_order, dst_starts)
        totals = _sum_groups(valid, src_groups, dst_groups)
        allowed_counts = _sum_groups(allowed, src_groups, dst_groups)
        n_total, n_allowed = int(totals.sum()), int(allowed_counts.sum())
        out.write("" if first else "\n")
        first = False
        out.write(
            f"{key[0]}/{key[1]} by namespace: {n_allowed:,} of {n_total:,} allowed"
            "  (. all, X none, N% that share, - no connection)\n"
        )
        first_width = max(len(CORNER), *map(len, src_names))
        widths = [max(3, len(n)) for n in dst_names]
        _header(out, first_width, [n.center(w) for n, w in zip(dst_names, widths, strict=True)])
        for i, name in enumerate(src_names):
            cells = [
                _share(int(a), int(t)).center(w)
                for a, t, w in zip(allowed_counts[i], totals[i], widths, strict=True)
            ]
            out.write((name.ljust(first_width) + GAP + GAP.join(cells)).rstrip() + "\n")
