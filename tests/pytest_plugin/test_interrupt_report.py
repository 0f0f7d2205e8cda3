"""An interruption whose traceback holds a frame without a line number is still reported."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from _pytest._code.code import Traceback, TracebackEntry

import netpol_conformance.pytest_plugin as plugin


def interrupted() -> pytest.ExceptionInfo[BaseException]:
    """A real KeyboardInterrupt's info, with one more frame as Python 3.11 records an
    instruction that has no line number (``tb_lineno`` None)."""
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        excinfo = pytest.ExceptionInfo.from_current()
    lineless = SimpleNamespace(tb_frame=sys._getframe(), tb_lineno=None, tb_next=None)
    excinfo.traceback = Traceback([*excinfo.traceback, TracebackEntry(lineless)])  # type: ignore[arg-type]
    return excinfo


def test_pytest_cannot_report_a_frame_without_a_line_number() -> None:
    """The failure the hook exists for: pytest's own report of such an interruption."""
    with pytest.raises(TypeError):
        interrupted().getrepr(funcargs=True)


def test_the_hook_leaves_such_frames_out_and_the_report_is_made() -> None:
    excinfo = interrupted()
    kept = len(excinfo.traceback) - 1
    plugin.pytest_keyboard_interrupt(excinfo)
    assert len(excinfo.traceback) == kept
    assert "KeyboardInterrupt" in str(excinfo.getrepr(funcargs=True))
