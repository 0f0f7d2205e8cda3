"""AGENT EVENT UTC-TIME lines, as scripts/local-cluster prints them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from netpol_conformance.upgrade.events import parse_event, utc_text


def test_a_local_cluster_line_is_an_event_at_its_time() -> None:
    event = parse_event("kube-router rules-removed 2026-11-25T20:33:01.652Z\n", "upgrade command")
    assert event is not None
    expected = datetime(2026, 11, 25, 20, 33, 1, tzinfo=UTC).timestamp() + 0.652
    assert event.at == pytest.approx(expected)
    assert (event.agent, event.event, event.origin) == (
        "kube-router",
        "rules-removed",
        "upgrade command",
    )
    assert utc_text(event.at) == "2026-11-25T20:33:01.652Z"


@pytest.mark.parametrize(
    "line",
    [
        "kube-router stopped",
        "local-cluster: cni restart: kube-router stopped and ready again in 612 ms",
        "kube-router stopped 2026-11-25 20:33:01Z",
        "kube-router stopped 2026-13-25T20:33:01Z",
        "[INFO] kube-router stopped 2026-11-25T20:33:01Z",
    ],
)
def test_other_lines_are_not_events(line: str) -> None:
    assert parse_event(line, "upgrade command") is None


def test_whole_seconds_are_events_too() -> None:
    event = parse_event("calico-node-x7k2p ready 2026-11-25T20:33:01Z", "ready command")
    assert event is not None and utc_text(event.at) == "2026-11-25T20:33:01.000Z"
