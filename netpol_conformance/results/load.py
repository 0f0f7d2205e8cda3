"""Read a results file back into a run, or refuse it with one line naming the file.

A reader accepts every minor version of the schema majors it knows (``versions``) and refuses
any other major. The shape is checked by the records' own model (``serialize.run_of``).

Verdicts are judged again from what the file says was expected and observed, never taken from
its stored ``met``: a probe whose stored verdict its own observation contradicts (a file edited
by hand, or written by a broken tool) counts as its observation says, and the run lists it in
``inconsistent``, which every report shows.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from netpol_conformance.errors import ResultsFileError
from netpol_conformance.plan.judge import meets
from netpol_conformance.results.records import ProbeRecord, RunRecord, StepResult
from netpol_conformance.results.serialize import DocumentError, run_of
from netpol_conformance.results.versions import check_header, up_to_date


def load_results(path: str | Path) -> RunRecord:
    """The run kept in the results file at ``path``; ResultsFileError (exit 2) if it is not one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ResultsFileError(f"{path}: cannot read it: {reason}") from None
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except _NotJson as exc:
        raise ResultsFileError(
            f"{path}: {exc} is not a JSON number (the results writer never writes one); a "
            "file edited or written by another tool"
        ) from None
    except RecursionError:
        raise ResultsFileError(
            f"{path}: nested too deeply to be a results file (a results document is a few "
            "levels deep); pass a file written by pytest --netpol-results"
        ) from None
    except json.JSONDecodeError as exc:
        raise ResultsFileError(
            f"{path}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}): a truncated "
            "file, or not a results file; run the suite again with --netpol-results"
        ) from None
    return from_document(document, str(path))


class _NotJson(ValueError):
    pass


def _no_constant(name: str) -> Any:
    """Python's json reads NaN and Infinity, which JSON does not have: refused."""
    raise _NotJson(name)


def from_document(document: Any, source: str) -> RunRecord:
    """The run a parsed results document holds; ``source`` names it in errors."""
    check_header(document, source)
    try:
        run = run_of(up_to_date(document))
    except DocumentError as exc:
        raise ResultsFileError(f"{source}: not a valid results document: {exc}") from None
    except RecursionError:
        raise ResultsFileError(
            f"{source}: not a valid results document: nested too deeply to be one"
        ) from None
    steps, inconsistent = _rejudged(run.steps, bool(run.options.get("strict_deny_style")))
    return dataclasses.replace(run, steps=steps, inconsistent=tuple(inconsistent))


def _judged(record: ProbeRecord, strict: bool) -> bool:
    """The probe's verdict as its own expectation and observation give it."""
    if record.observed is None or record.flap or record.late:
        return False
    return meets(record.expected, record.observed, record.listening, strict)


def _rejudged(
    steps: tuple[StepResult, ...], strict: bool
) -> tuple[tuple[StepResult, ...], list[str]]:
    """The steps with every probe's verdict judged again, and where the file said otherwise."""
    out, inconsistent = [], []
    for step in steps:
        probes = []
        for r in step.probes:
            judged = _judged(r, strict)
            if judged != r.met:
                said, seen = ("met", "does not meet") if r.met else ("not met", "meets")
                inconsistent.append(
                    f"{step.scenario} / {step.step}: {r.probe.label}: stored as {said}, but its "
                    f"observation ({r.observed}) {seen} its expectation ({r.expected.value})"
                )
                r = dataclasses.replace(r, met=judged)
            probes.append(r)
        out.append(dataclasses.replace(step, probes=tuple(probes)))
    return tuple(out), inconsistent
