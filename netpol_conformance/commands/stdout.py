"""Writing a command's output to standard output when the reader may stop early.

``netpol-conformance compare ... | head`` closes the pipe before the output is written. That
is no error, and it must not change the exit code: the verdict's code is the command's,
wherever its output goes (GitHub Actions runs bash with pipefail).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


def to_stdout(write: Callable[[], None]) -> None:
    """Run ``write`` (which prints to stdout) and flush; a closed pipe ends the output quietly."""
    try:
        write()
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would try to flush again at exit and complain: point stdout at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
