"""Which part of a connectivity matrix to show: source pods and destination endpoints."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from netpol_conformance.model.topology import Pod, Topology


@dataclass(frozen=True)
class Selection:
    """Rows (indices into ``topology.pods``) and columns (indices into ``topology.endpoints``)."""

    sources: np.ndarray
    destinations: np.ndarray

    @classmethod
    def of(
        cls,
        topology: Topology,
        from_namespaces: Collection[str] = (),
        to_names: Collection[str] = (),
    ) -> Selection:
        """Sources in ``from_namespaces``, destinations in a namespace or named external host
        of ``to_names``; an empty collection selects everything. Topology order is kept."""
        sources = [
            i
            for i, p in enumerate(topology.pods)
            if not from_namespaces or p.namespace in from_namespaces
        ]
        destinations = [
            i
            for i, e in enumerate(topology.endpoints)
            if not to_names or (e.namespace if isinstance(e, Pod) else e.name) in to_names
        ]
        return cls(np.array(sources, dtype=np.intp), np.array(destinations, dtype=np.intp))
