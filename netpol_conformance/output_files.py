"""Where an output file may go: a regular file, or nothing yet.

Every file the suite writes (results, HTML and markdown reports) is written by renaming a
temporary file over its path, which replaces whatever is there. Run as root, that would turn
``/dev/full`` or a FIFO into a text file; so anything but a regular file is refused, with one
line, before any work.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from netpol_conformance.errors import UsageError

_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def output_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be written as an output file, or None when it can (a regular file,
    or nothing yet)."""
    try:
        mode = os.stat(path).st_mode  # through symbolic links
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        return f"{path} is a directory: name a file, e.g. {Path(path) / 'results.json'}"
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    link = " (through a symbolic link)" if os.path.islink(path) else ""
    return (
        f"{path} is {kind}{link}: the suite writes its files by replacing them, which would "
        "replace it; name a regular file"
    )


def check_output(path: str | Path | None, option: str) -> None:
    """UsageError naming ``option`` when ``path`` cannot take an output file."""
    problem = output_problem(path) if path not in (None, "", "-") else None
    if problem:
        raise UsageError(f"{option}: {problem}")
