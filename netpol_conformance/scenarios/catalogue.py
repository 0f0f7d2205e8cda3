"""The catalogue: every scenario, by id and by family, and the upstream spec each mirrors."""

from __future__ import annotations

from netpol_conformance.scenarios import specs_beyond, specs_changes, specs_selectors
from netpol_conformance.scenarios.model import Scenario

UPSTREAM: tuple[Scenario, ...] = tuple(
    sorted(specs_selectors.SCENARIOS + specs_changes.SCENARIOS, key=lambda s: s.upstream)
)
BEYOND: tuple[Scenario, ...] = specs_beyond.SCENARIOS  # what upstream never checks
SCENARIOS: tuple[Scenario, ...] = UPSTREAM + BEYOND
BY_ID = {s.id: s for s in SCENARIOS}


def mirrored() -> dict[int, list[str]]:
    """Upstream spec number -> the scenarios that mirror it."""
    out: dict[int, list[str]] = {}
    for s in SCENARIOS:
        if s.upstream:
            out.setdefault(s.upstream, []).append(s.id)
    return out
