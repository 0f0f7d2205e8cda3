"""`{"results": [...]}` for a whole matrix, written as it is computed: one result per line.

Each source pod's line block is assembled from per-destination text prepared once, so the cost
per result is a few C-level operations and memory stays bounded by one source's results.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TextIO

import numpy as np

from netpol_conformance.policy.matrix_selection import Selection
from netpol_conformance.policy.oracle import Matrix

Explain = Callable[[str, str, int, str], str]  # (from, to, port, protocol) -> reason


def write_results_json(
    matrix: Matrix, out: TextIO, selection: Selection, explain: Explain | None = None
) -> int:
    """Stream the selected results to ``out``; with ``explain``, each carries its reason.

    Results come in source-pod order, then destination order, then each destination's ports in
    declaration order. Returns how many results were written.
    """
    endpoints = matrix.topology.endpoints
    key_index = {key: i for i, key in enumerate(matrix.keys)}
    slot_dst: list[int] = []
    slot_key: list[int] = []
    bodies: list[str] = []  # '"to": ..., "protocol": ..., "allowed": ' of each slot
    for d in selection.destinations.tolist():
        dst = endpoints[d]
        for key in dict.fromkeys((p.port, p.protocol) for p in dst.ports):
            slot_dst.append(d)
            slot_key.append(key_index[key])
            bodies.append(
                f'"to": {json.dumps(dst.key)}, "port": {key[0]}, '
                f'"protocol": {json.dumps(key[1])}, "allowed": '
            )
    dsts = np.array(slot_dst, dtype=np.intp)
    keys = np.array(slot_key, dtype=np.intp)
    if_allowed = np.array([b + "true}" for b in bodies], dtype=object)
    if_denied = np.array([b + "false}" for b in bodies], dtype=object)
    gathers = []
    for i, key in enumerate(matrix.keys):
        positions = np.flatnonzero(keys == i)
        if positions.size:
            gathers.append((positions, dsts[positions], matrix.allowed_mask(key),
                            matrix.valid_mask(key)))  # fmt: skip
    allowed_row = np.zeros(len(bodies), bool)
    valid_row = np.zeros(len(bodies), bool)
    pods = matrix.topology.pods
    out.write('{"results": [')
    separator = "\n"
    count = 0
    for s in selection.sources.tolist():
        for positions, columns, allowed, valid in gathers:
            allowed_row[positions] = allowed[s, columns]
            valid_row[positions] = valid[s, columns]
        if not valid_row.any():
            continue
        head = f'{{"from": {json.dumps(pods[s].key)}, '
        if explain is None:
            texts = np.where(allowed_row, if_allowed, if_denied)[valid_row].tolist()
        else:
            texts = []
            for j in np.flatnonzero(valid_row).tolist():
                port, protocol = matrix.keys[slot_key[j]]
                reason = explain(pods[s].key, endpoints[slot_dst[j]].key, port, protocol)
                verdict = "true" if allowed_row[j] else "false"
                texts.append(f'{bodies[j]}{verdict}, "reason": {json.dumps(reason)}}}')
        out.write(separator + head + (",\n" + head).join(texts))
        separator = ",\n"
        count += len(texts)
    out.write("\n]}\n")
    return count
