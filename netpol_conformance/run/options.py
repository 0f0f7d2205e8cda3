"""How a run probes and waits: timeouts, poll interval, images."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from netpol_conformance.probe.commands import ProbeSettings


@dataclass(frozen=True)
class RunOptions:
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    enforce_timeout: float = 60.0  # how long to poll after an apply for the policies to hold
    poll_interval: float = 1.0
    # After convergence, keep probing until this many seconds have passed since the first
    # matching poll: a cell that deviates in that window fails as flapping.
    confirm_window: float = 3.0
    strict_deny_style: bool = False  # a rejecting CNI's deny must be refused, never a timeout
    # A time budget: a probe that meets its expectation only later than this after the change
    # fails (None: no budget).
    max_time_to_enforce: float | None = None
    pod_ready_timeout: float = 300.0
    images: Mapping[str, str] = field(default_factory=dict)  # container name -> image
    pull_policy: str | None = None
