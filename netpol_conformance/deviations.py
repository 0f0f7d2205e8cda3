"""Expected deviations of a CNI: probes known to observe something else, with the reason why.

``manifests/expected-deviations/<cni>.yaml`` lists them; a missing file means none. Each entry
names a scenario, a probe (its exact label, or a glob pattern over labels), the category the
CNI is known to observe, and a reason with a link. Validation is strict: every problem of a
file is reported at once, naming the file and the entry (exit 2). Pure: no cluster, no pytest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

from netpol_conformance.errors import FieldProblem, ManifestError
from netpol_conformance.probe.outcome import Observation, Outcome

FOLDER = "expected-deviations"
FIELDS = ("scenario", "probe", "observed", "reason", "link")
OPTIONAL = ("version",)  # the CNI release it is known for: it applies to that release only
# A probe label (or a pattern of one): SOURCE->DESTINATION:PORT/PROTOCOL or SOURCE->dns:NAME.
_LABEL = re.compile(r"^\S+->\S+:\S+$")
_LINK = re.compile(r"^https?://\S+$")
CATEGORIES = tuple(o.value for o in Outcome if o not in (Outcome.EXEC_ERROR, Outcome.UNSUPPORTED))


@dataclass(frozen=True)
class Deviation:
    scenario: str
    probe: str  # an exact label or a glob pattern (fnmatch: * ? [...])
    observed: Outcome
    reason: str
    link: str
    where: str = ""  # "FILE: deviations[N]", for messages
    version: str = ""  # "": every release of the CNI

    def covers(self, scenario: str, probe_label: str) -> bool:
        return scenario == self.scenario and fnmatchcase(probe_label, self.probe)

    def matches(self, scenario: str, probe_label: str, observed: Outcome) -> bool:
        return observed is self.observed and self.covers(scenario, probe_label)

    @property
    def explanation(self) -> str:
        return f"{self.reason} ({self.link})"


@dataclass(frozen=True)
class Deviations:
    cni: str
    entries: tuple[Deviation, ...] = ()
    source: str = ""

    def match(
        self, scenario: str, probe_label: str, observed: Outcome | Observation
    ) -> Deviation | None:
        """The entry that covers this probe observing this category, or None."""
        outcome = observed.outcome if isinstance(observed, Observation) else observed
        for entry in self.entries:
            if entry.matches(scenario, probe_label, outcome):
                return entry
        return None

    def for_version(self, version: str) -> Deviations:
        """The entries that apply to this release of the CNI (as the cluster reports it)."""
        kept = tuple(e for e in self.entries if not e.version or e.version == version)
        return replace(self, entries=kept)

    def listed(self, scenario: str, probe_label: str) -> tuple[Deviation, ...]:
        """Every entry naming this probe, whatever it observed: a listed probe that passes
        must fail (strict) until its entry is removed."""
        return tuple(e for e in self.entries if e.covers(scenario, probe_label))


def deviations_file(manifests: Path, cni: str) -> Path:
    return manifests / FOLDER / f"{cni}.yaml"


def deviations_for(
    cni: str, manifests: Path, scenarios: Collection[str] | None = None
) -> Deviations:
    """The expected deviations of ``cni`` under ``manifests``; none when it has no file."""
    path = deviations_file(manifests, cni)
    if not path.exists():
        return Deviations(cni)
    return load_deviations(path, cni, scenarios)


def load_deviations(
    path: Path, cni: str | None = None, scenarios: Collection[str] | None = None
) -> Deviations:
    """Read and validate one file; ManifestError (a UsageError) listing every problem."""
    source = str(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ManifestError([FieldProblem(source, "", "", f"cannot read it: {reason}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ManifestError([FieldProblem(source, "", "", f"not valid YAML{where}")]) from None
    problems: list[FieldProblem] = []
    entries = _parse(document, source, path.stem if cni is None else cni, scenarios, problems)
    if problems:
        raise ManifestError(problems)
    return Deviations(path.stem if cni is None else cni, entries, source)


def _parse(
    document: Any,
    source: str,
    cni: str,
    scenarios: Collection[str] | None,
    problems: list[FieldProblem],
) -> tuple[Deviation, ...]:
    def problem(obj: str, field: str, message: str) -> None:
        problems.append(FieldProblem(source, obj, field, message))

    if not isinstance(document, dict):
        problem("", "", "must be a mapping with the keys cni and deviations")
        return ()
    for key in sorted(set(document) - {"cni", "deviations"}, key=str):
        problem("", str(key), "unknown key: only cni and deviations")
    if document.get("cni") != cni:
        problem("", "cni", f"must be {cni!r} (the file's CNI), not {document.get('cni')!r}")
    items = document.get("deviations")
    if items is None:
        items = []
    if not isinstance(items, list):
        problem("", "deviations", "must be a list of entries")
        return ()
    entries: list[Deviation] = []
    seen: dict[tuple[str, str, str], str] = {}
    for i, item in enumerate(items):
        obj = f"deviations[{i}]"
        if not isinstance(item, dict):
            problem(obj, "", f"must be a mapping with the keys {', '.join(FIELDS)}")
            continue
        if isinstance(item.get("scenario"), str) and isinstance(item.get("probe"), str):
            obj += f" ({item['scenario']} {item['probe']})"
        entry = _entry(item, obj, scenarios, problem)
        if entry is None:
            continue
        key = (entry.scenario, entry.probe, entry.observed.value)
        if key in seen:
            problem(obj, "", f"the same scenario, probe and observed as {seen[key]}")
            continue
        seen[key] = obj
        entries.append(replace(entry, where=f"{source}: {obj}"))
    return tuple(entries)


def _entry(
    item: dict[Any, Any],
    obj: str,
    scenarios: Collection[str] | None,
    problem: Callable[[str, str, str], None],
) -> Deviation | None:
    ok = True
    for key in sorted(set(item) - set(FIELDS) - set(OPTIONAL), key=str):
        keys = ", ".join(FIELDS) + " and optionally " + ", ".join(OPTIONAL)
        problem(obj, str(key), f"unknown key: an entry has {keys}")
        ok = False
    version = item.get("version", "")
    if not isinstance(version, str):
        problem(obj, "version", "must be a string: the CNI release, as the cluster reports it")
        ok = False
    values: dict[str, str] = {}
    for field in FIELDS:
        value = item.get(field)
        if not isinstance(value, str) or not value.strip():
            problem(obj, field, "required: a non-empty string")
            ok = False
        else:
            values[field] = value.strip()
    if not ok:
        return None
    if scenarios is not None and values["scenario"] not in scenarios:
        problem(obj, "scenario", f"unknown scenario {values['scenario']!r}")
        ok = False
    if not _LABEL.match(values["probe"]):
        problem(
            obj,
            "probe",
            "must be a probe label or pattern: SOURCE->DESTINATION:PORT/PROTOCOL or "
            "SOURCE->dns:NAME, e.g. 'backend/*->external-db:5432/TCP'",
        )
        ok = False
    if values["observed"] not in CATEGORIES:
        exec_error = values["observed"] == Outcome.EXEC_ERROR.value
        never = " (an exec error is never a deviation)" if exec_error else ""
        choices = ", ".join(CATEGORIES)
        problem(obj, "observed", f"{values['observed']!r} is not one of {choices}{never}")
        ok = False
    if not _LINK.match(values["link"]):
        problem(obj, "link", "must be an http(s) URL to the issue or documentation")
        ok = False
    if not ok:
        return None
    return Deviation(
        scenario=values["scenario"],
        probe=values["probe"],
        observed=Outcome(values["observed"]),
        reason=values["reason"],
        link=values["link"],
        version=version.strip() if isinstance(version, str) else "",
    )
