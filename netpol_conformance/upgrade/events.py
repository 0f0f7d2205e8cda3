"""Agent events printed by an upgrade or ready command: ``AGENT EVENT UTC-TIME`` lines.

``scripts/local-cluster cni restart`` prints, for instance::

    kube-router stopping 2026-11-25T20:33:01.652Z
    kube-router stopped 2026-11-25T20:33:01.667Z

Any command may print such lines (a wrapper around ``helm upgrade`` that stamps its own
steps); they go on the timeline. Every other line is only shown.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from netpol_conformance.upgrade.timeline import RawEvent

_LINE = re.compile(
    r"^(?P<agent>[A-Za-z0-9][\w.:/-]*) (?P<event>[a-z][a-z0-9-]*) "
    r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z)$"
)


def parse_event(line: str, origin: str) -> RawEvent | None:
    """The event a line announces, or None when it is not such a line."""
    m = _LINE.match(line.strip())
    if m is None:
        return None
    stamp = m.group("time")[:-1]
    whole, _, fraction = stamp.partition(".")
    try:
        moment = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    at = moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)
    return RawEvent(at, m.group("agent"), m.group("event"), origin)


def utc_text(at: float) -> str:
    """Seconds since the epoch as ``2026-11-25T20:33:01.652Z``."""
    moment = datetime.fromtimestamp(at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
