"""Errors that reach a person: each one says where the problem is and what to do."""

from __future__ import annotations

from dataclasses import dataclass


class ConformanceError(Exception):
    """Base class for errors that are reported as one clear message, without a traceback."""

    exit_code = 1


class UsageError(ConformanceError):
    """Bad input from the user: a wrong option, an unknown name, a missing file."""

    exit_code = 2


class SetupError(ConformanceError):
    """The environment cannot run the suite: a missing binary, an unreachable cluster."""

    exit_code = 3


class StepSetupError(SetupError):
    """A set-up that failed because a matrix did not come out as it must (the open baseline,
    the return to open): it carries that step's result, for whoever shows the error to show its
    truth tables too."""

    def __init__(self, message: str, result: object) -> None:
        super().__init__(message)
        self.result = result  # a results.records.StepResult


class ResultsFileError(UsageError):
    """A results file that cannot be read back: unreadable, not JSON, foreign, another major."""


class ResultsWriteError(ConformanceError):
    """The results file could not be written (a full disk, a read-only directory)."""


@dataclass(frozen=True)
class FieldProblem:
    """One validation problem: which file, which object, which field, and what is wrong."""

    source: str
    obj: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.obj}" if self.obj else self.source
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class ManifestError(UsageError):
    """One or more manifests are invalid; every problem is listed, not only the first."""

    def __init__(self, problems: list[FieldProblem], subject: str = "the manifests") -> None:
        self.problems = problems
        lines = [str(p) for p in problems]
        noun = "problem" if len(lines) == 1 else "problems"
        super().__init__(f"{len(lines)} {noun} in {subject}:\n  " + "\n  ".join(lines))
