"""Helpers for the probe tests: the real tool outputs captured in ``captured/``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

CAPTURED = Path(__file__).resolve().parent / "captured"


def read_capture(name: str) -> tuple[int, str]:
    """(exit code, output) of ``captured/<name>.txt``, whose last line is ``rc=N``."""
    lines = (CAPTURED / f"{name}.txt").read_text().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    last = lines.pop()
    assert last.startswith("rc="), f"{name}: the last line must be rc=N, got {last!r}"
    return int(last.removeprefix("rc=")), "\n".join(lines)


@pytest.fixture
def captured() -> Callable[[str], tuple[int, str]]:
    return read_capture
