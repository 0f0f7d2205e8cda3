"""Write the results file atomically: a reader sees the old file or the whole new one, never half.

The text goes to a temporary file in the same directory, is flushed to disk, and then renamed
over the target (``os.replace``, atomic on POSIX within one file system). A Ctrl-C or a full
disk leaves at most the temporary file's removal undone, never a truncated results file.

Renaming over a target replaces whatever it is, so only a regular file (or nothing) is ever a
target (``output_files``): checked when the path comes from an option, before any work, and
again here just before the rename. A symbolic link is written through: the file it names is
replaced, the link stays.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from netpol_conformance.errors import ResultsWriteError
from netpol_conformance.output_files import output_problem
from netpol_conformance.results.records import RunRecord
from netpol_conformance.results.serialize import document_text


def write_atomically(path: str | Path, text: str, what: str = "the file") -> None:
    """Replace ``path`` by ``text`` in one step; ResultsWriteError with one line on failure
    (``what`` names the file in it: "the results file", "the HTML report")."""
    target = Path(os.path.realpath(path))  # a symbolic link is written through
    problem = output_problem(target)
    if problem:
        raise ResultsWriteError(f"cannot write {what}: {problem}")
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: never write through a file someone else made; 0o666 minus the umask, as
        # any other file the user creates (mkstemp would make it private to the user).
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        _discard(temporary)
        raise ResultsWriteError(f"cannot write {what} {path}: {exc.strerror or exc}") from None
    except BaseException:  # Ctrl-C half-way: no temporary file left behind either
        _discard(temporary)
        raise


def _discard(temporary: Path) -> None:
    with contextlib.suppress(OSError):
        temporary.unlink(missing_ok=True)


def write_results(run: RunRecord, path: str | Path) -> None:
    """Write ``run`` as the results document at ``path``, atomically."""
    write_atomically(path, document_text(run), "the results file")
