"""Field types the results records share, with how each is written to and read from JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer

from netpol_conformance.probe.kinds import KINDS


def _millisecond(value: float) -> float:
    return round(value, 3)


# Seconds on a time axis, written rounded to the millisecond.
Seconds = Annotated[float, PlainSerializer(_millisecond, return_type=float)]

# A probe kind's name, which the schema lists from the kinds the code defines.
KindName = Annotated[
    str,
    Field(
        description="tcp (curl), udp (one datagram, waiting for a reply), sctp (an SCTP "
        "association, reading the server's greeting) or dns (a dig lookup of a name).",
        json_schema_extra={"enum": sorted(KINDS)},
    ),
]


@dataclass(frozen=True)
class ScenarioError:
    """A scenario and why it has no results."""

    scenario: str
    error: str


def _as_list(errors: Mapping[str, str]) -> list[ScenarioError]:
    return [ScenarioError(scenario, error) for scenario, error in errors.items()]


def _from_list(value: Any) -> Any:
    if isinstance(value, list):
        if not all(isinstance(e, dict) and {"scenario", "error"} <= e.keys() for e in value):
            raise ValueError("every entry must be an object with scenario and error")
        return {e["scenario"]: e["error"] for e in value}
    return value


# Scenario id -> error text, written as a list of {scenario, error}.
ScenarioErrors = Annotated[
    Mapping[str, str],
    BeforeValidator(_from_list),
    PlainSerializer(_as_list, return_type=list[ScenarioError]),
]
