"""Expected deviations per CNI: strict loading, and matching by scenario, probe and category."""

from __future__ import annotations

from pathlib import Path

import pytest

from netpol_conformance.deviations import deviations_for, load_deviations
from netpol_conformance.errors import ManifestError, UsageError
from netpol_conformance.plan.catalogue import BY_ID as TUTORIAL
from netpol_conformance.plan.layout import DEFAULT_MANIFESTS
from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.scenarios.catalogue import BY_ID as CATALOGUE

SCENARIOS = {"3-default-deny-egress", "4-allow-external-db-egress"}
GOOD = """\
cni: kube-router
deviations:
  - scenario: 4-allow-external-db-egress
    probe: "backend/db->external-db:*"
    observed: timeout
    reason: the external host drops instead of rejecting
    link: https://example.org/issue/1
  - scenario: 3-default-deny-egress
    probe: backend/cache->dns:kubernetes.default.svc.cluster.local
    observed: dns-ok
    reason: node-local DNS cache answers before the policy applies
    link: https://example.org/issue/2
"""


def _write(tmp_path: Path, text: str, cni: str = "kube-router") -> Path:
    folder = tmp_path / "expected-deviations"
    folder.mkdir(exist_ok=True)
    path = folder / f"{cni}.yaml"
    path.write_text(text)
    return path


def test_match_by_glob_exact_label_and_category(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    d = deviations_for("kube-router", tmp_path, SCENARIOS)
    hit = d.match("4-allow-external-db-egress", "backend/db->external-db:5432/TCP", Outcome.TIMEOUT)
    assert hit is not None and hit.reason == "the external host drops instead of rejecting"
    assert "kube-router.yaml: deviations[0] (4-allow-external-db-egress" in hit.where
    assert (
        d.match("4-allow-external-db-egress", "backend/db->external-db:80/TCP", Outcome.REFUSED)
        is None
    )
    assert (
        d.match("3-default-deny-egress", "backend/db->external-db:80/TCP", Outcome.TIMEOUT) is None
    )
    assert (
        d.match("4-allow-external-db-egress", "backend/cache->external-db:80/TCP", Outcome.TIMEOUT)
        is None
    )
    dns = "backend/cache->dns:kubernetes.default.svc.cluster.local"
    assert d.match("3-default-deny-egress", dns, Observation(Outcome.DNS_OK, "10.96.0.1"))
    assert d.listed("3-default-deny-egress", dns)  # known even when it now passes
    assert not d.listed(
        "3-default-deny-egress", "backend/db->dns:kubernetes.default.svc.cluster.local"
    )


def test_no_file_means_no_deviation(tmp_path: Path) -> None:
    d = deviations_for("calico", tmp_path)
    assert d.entries == () and d.match("x", "a->b:80/TCP", Outcome.TIMEOUT) is None


def test_an_empty_list_is_valid(tmp_path: Path) -> None:
    _write(tmp_path, "cni: kube-router\ndeviations: []\n")
    assert deviations_for("kube-router", tmp_path).entries == ()


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = _write(tmp_path, text)
    with pytest.raises(ManifestError) as info:
        load_deviations(path, "kube-router", SCENARIOS)
    assert isinstance(info.value, UsageError) and info.value.exit_code == 2
    lines = [str(p) for p in info.value.problems]
    assert all(line.startswith(str(path)) for line in lines)
    return lines


def test_every_problem_names_the_file_and_the_entry(tmp_path: Path) -> None:
    text = """\
cni: kube-router
deviations:
  - scenario: 4-allow-external-db-egres
    probe: "backend/db->external-db:*"
    observed: blocked
    reason: typo
    link: see the issue
  - scenario: 3-default-deny-egress
    probe: backend/cache
    observed: exec-error
    reason: ""
    link: https://example.org/2
    severity: high
"""
    lines = _problems(tmp_path, text)
    first = "deviations[0] (4-allow-external-db-egres backend/db->external-db:*)"
    second = "deviations[1] (3-default-deny-egress backend/cache)"
    assert any(f"{first}: scenario: unknown scenario" in line for line in lines)
    assert any(f"{first}: observed: 'blocked' is not one of connected" in line for line in lines)
    assert any(f"{first}: link: must be an http(s) URL" in line for line in lines)
    assert any(f"{second}: severity: unknown key" in line for line in lines)
    assert any(f"{second}: reason: required" in line for line in lines)


def test_probe_shape_and_exec_errors_are_refused(tmp_path: Path) -> None:
    text = GOOD.replace('"backend/db->external-db:*"', "backend/db").replace(
        "observed: dns-ok", "observed: exec-error"
    )
    lines = _problems(tmp_path, text)
    assert any("probe: must be a probe label or pattern" in line for line in lines)
    assert any("an exec error is never a deviation" in line for line in lines)


def test_duplicates_and_a_wrong_cni_are_refused(tmp_path: Path) -> None:
    entries = GOOD.split("deviations:\n")[1]
    lines = _problems(tmp_path, f"cni: calico\ndeviations:\n{entries}{entries}")
    assert any("cni: must be 'kube-router'" in line for line in lines)
    assert any(
        "deviations[2]" in line and "the same scenario, probe and observed as" in line
        for line in lines
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("cni: kube-router\ndeviations: [\n", "not valid YAML at line"),
        ("- just a list\n", "must be a mapping with the keys cni and deviations"),
        ("cni: kube-router\ndeviations: {a: 1}\n", "deviations: must be a list"),
        ("cni: kube-router\ndeviations:\n  - just text\n", "deviations[0]: must be a mapping"),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, says: str) -> None:
    assert any(says in line for line in _problems(tmp_path, text))


def test_the_error_message_is_what_the_cli_prints(tmp_path: Path) -> None:
    path = _write(tmp_path, "cni: kube-router\ndeviations:\n  - scenario: x\n")
    with pytest.raises(ManifestError) as info:
        load_deviations(path)
    assert str(info.value).startswith("4 problems in the manifests:\n  " + str(path))


def test_an_entry_with_a_version_applies_to_that_release_only(tmp_path: Path) -> None:
    pinned = GOOD.replace(
        "    link: https://example.org/issue/1\n",
        "    link: https://example.org/issue/1\n    version: v2.1.0\n",
    )
    _write(tmp_path, pinned)
    d = deviations_for("kube-router", tmp_path, SCENARIOS)
    label = "backend/db->external-db:5432/TCP"
    assert d.for_version("v2.1.0").match("4-allow-external-db-egress", label, Outcome.TIMEOUT)
    other = d.for_version("v2.2.0")
    assert other.match("4-allow-external-db-egress", label, Outcome.TIMEOUT) is None
    assert len(other.entries) == 1  # the entry without a version applies to every release


def test_a_version_that_is_not_a_string_is_refused(tmp_path: Path) -> None:
    bad = GOOD.replace(
        "    link: https://example.org/issue/1\n",
        "    link: https://example.org/issue/1\n    version: 2\n",
    )
    problems = _problems(tmp_path, bad)
    assert any("version" in p and "must be a string" in p for p in problems), problems


def test_the_shipped_deviation_files_are_valid() -> None:
    files = sorted((DEFAULT_MANIFESTS / "expected-deviations").glob("*.yaml"))
    assert files
    for path in files:
        d = load_deviations(path, scenarios=set(TUTORIAL) | set(CATALOGUE))
        assert d.entries and all(e.version for e in d.entries), path
