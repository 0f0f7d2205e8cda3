"""Read a results document back into typed values, or refuse it with one line naming the file.

A reader accepts every minor version of the schema majors it knows (a minor version only adds
optional fields: those of a later minor are ignored here; a 1.x file lacks only fields that
2.0 added) and refuses any other major.

Verdicts are judged again from what the file says was expected and observed, never taken from
its stored ``met``: a probe whose stored verdict its own observation contradicts (a file edited
by hand, or written by a broken tool) counts as its observation says, and the run lists it in
``inconsistent``, which every report shows.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from netpol_conformance.errors import ResultsFileError
from netpol_conformance.plan.judge import meets
from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.probe.spec import Probe
from netpol_conformance.results.document import FORMAT, READS, SCHEMA_VERSION
from netpol_conformance.results.schema import schema_problem
from netpol_conformance.results.upgrade_document import upgrade_from_document
from netpol_conformance.results.records import (
    ClusterRecord,
    CniRecord,
    NodeRecord,
    ProbeRecord,
    RunRecord,
    StepResult,
    TestRecord,
)


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
    """Typed values from a parsed results document; ``source`` names it in errors."""
    check_header(document, source)
    try:
        problem = schema_problem(document)
    except RecursionError:
        problem = "nested too deeply to be a results document"
    if problem:
        raise ResultsFileError(f"{source}: not a valid results document: {problem}")
    return _run(document)


def check_header(document: Any, source: str) -> None:
    if isinstance(document, dict) and isinstance(document.get("results"), list):
        raise ResultsFileError(
            f"{source}: a results file of netpol-conformance before schema versions; run the "
            "suite again with --netpol-results to get one this version reads"
        )
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ResultsFileError(
            f'{source}: not a netpol-conformance results file (no "format": "{FORMAT}"); '
            "pass a file written by pytest --netpol-results"
        )
    version = document.get("schema_version")
    major, _, minor = str(version).partition(".")
    if not (major.isdigit() and minor.isdigit()):
        raise ResultsFileError(f"{source}: schema_version {version!r} is not MAJOR.MINOR")
    if int(major) not in READS:
        readable = " and ".join(f"{m}.x" for m in READS)
        raise ResultsFileError(
            f"{source}: results schema {version}, but this netpol-conformance reads "
            f"{readable} (writes {SCHEMA_VERSION}); use the netpol-conformance version "
            "that wrote it, or run the suite again"
        )


def _observation(doc: Mapping[str, Any] | None) -> Observation | None:
    if doc is None:
        return None
    return Observation(Outcome(doc["category"]), doc["detail"])


def _listening(doc: Mapping[str, Any]) -> bool | None:
    """The control probe's answer: stored since 1.3, read from its evidence text before."""
    if "listening" in doc:
        return doc["listening"]
    evidence = doc["evidence"]
    if "accepts connections" in evidence:
        return True
    return False if "nothing accepts" in evidence else None


def _judged(record: ProbeRecord, strict: bool) -> bool:
    """The probe's verdict as its own expectation and observation give it."""
    if record.observed is None or record.flap or record.late:
        return False
    return meets(record.expected, record.observed, record.listening, strict)


def _probe(doc: Mapping[str, Any]) -> ProbeRecord:
    probe = Probe(
        source=doc["from"],
        kind=doc["kind"],
        target=doc["to"],
        port=doc["port"],
        protocol=doc["protocol"],
        name=doc["name"],
    )
    history = tuple(Observation(Outcome(o["category"]), o["detail"]) for o in doc["history"])
    return ProbeRecord(
        probe=probe,
        expected=Outcome(doc["expected"]),
        observed=_observation(doc["observed"]),
        met=doc["met"],
        history=history,
        command=doc["command"],
        evidence=doc["evidence"],
        path=doc["path"],
        deviation=doc["deviation"],
        flap=doc.get("flap", ""),  # 2.0
        enforced_after=doc.get("enforced_after"),  # 2.0
        late=doc.get("late", ""),  # 2.0
        listening=_listening(doc),
    )


def _step(doc: Mapping[str, Any]) -> StepResult:
    return StepResult(
        scenario=doc["scenario"],
        step=doc["step"],
        policies=tuple(doc["policies"]),
        probes=tuple(_probe(p) for p in doc["probes"]),
        converged=doc["converged"],
        polls=doc["polls"],
        time_to_enforce=doc["time_to_enforce"],
        flapping=tuple(doc["flapping"]),
        phases=dict(doc["phases"]),
        poll_times=tuple(doc.get("poll_times", ())),  # 2.0
    )


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


def _run(doc: Mapping[str, Any]) -> RunRecord:
    cluster = doc["cluster"]
    cni = doc["cni"]
    steps, inconsistent = _rejudged(
        tuple(_step(s) for s in doc["steps"]), bool(doc["options"].get("strict_deny_style"))
    )
    return RunRecord(
        suite_version=doc["suite_version"],
        started=doc["started"],
        finished=doc["finished"],
        status=doc["status"],
        error=doc["error"],
        options=dict(doc["options"]),
        cluster=ClusterRecord(
            kind=cluster["kind"],
            kubernetes_version=cluster["kubernetes_version"],
            context=cluster["context"],
            nodes=tuple(NodeRecord(n["name"], tuple(n["pods"])) for n in cluster["nodes"]),
        ),
        cni=CniRecord(
            name=cni["name"],
            enforces=cni["enforces"],
            deny_style=cni["deny_style"],
            version=cni["version"],
        ),
        steps=steps,
        setup_errors={e["scenario"]: e["error"] for e in doc["setup_errors"]},
        lost={e["scenario"]: e["error"] for e in doc.get("lost", [])},  # 2.0
        tests=tuple(
            TestRecord(
                nodeid=t["nodeid"],
                outcome=t["outcome"],
                duration=t["duration"],
                scenario=t["scenario"],
                message=t["message"],
                properties=dict(t["properties"]),
            )
            for t in doc["tests"]
        ),
        upgrade=upgrade_from_document(doc["upgrade"]) if "upgrade" in doc else None,
        inconsistent=tuple(inconsistent),
    )
