"""The results file's format name and schema versions: what this release writes and reads.

A minor version only adds optional fields, a major version is anything else. A reader accepts
every minor version of the majors it knows: a later minor's fields are ignored, an earlier one
lacks only optional fields (``up_to_date`` fills in what can be derived).
"""

from __future__ import annotations

from typing import Any

from netpol_conformance.errors import ResultsFileError

FORMAT = "netpol-conformance/results"
SCHEMA_MAJOR = 2
SCHEMA_MINOR = 3
# 1.1: steps carry deny_style; 1.2: the optional upgrade section. 2.0: the status incomplete
# (a worker died) with the run's lost scenarios; steps carry poll_times, probes their flap and
# the control probe's answer (listening), options the selection and the verdict options.
# 2.1: probes carry allowed, steps their disagreements. 2.2: probes carry denied_by (the
# directions whose policies deny them, so the node that must enforce each is known). 2.3: the
# upgrade's denied live probes carry enforced_on (the nodes whose enforcers deny each).
READS = (1, 2)  # the majors this version reads
SCHEMA_VERSION = f"{SCHEMA_MAJOR}.{SCHEMA_MINOR}"


def check_header(document: Any, source: str) -> None:
    """Refuse, with one line naming ``source``, anything but a results document this release
    reads."""
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


def up_to_date(document: dict[str, Any]) -> dict[str, Any]:
    """A document of an earlier version with what the current one derives from it: a 1.x
    probe's control-probe answer, which it kept only in its evidence text."""
    if not str(document["schema_version"]).startswith("1."):
        return document
    steps = document.get("steps")
    if not isinstance(steps, list):
        return document
    for step in steps:
        for probe in step.get("probes", []) if isinstance(step, dict) else []:
            if isinstance(probe, dict) and "listening" not in probe:
                evidence = str(probe.get("evidence", ""))
                listening = True if "accepts connections" in evidence else None
                probe["listening"] = False if "nothing accepts" in evidence else listening
    return document
