"""The terminal timeline's headline: what an operator reads first."""

from __future__ import annotations

import dataclasses

import pytest
from upgrade_records import leak, probe, upgrade

from netpol_conformance.report.upgrade_terminal import headline
from netpol_conformance.results.upgrade import signed


def test_the_headline_counts_leaks_and_names_the_cni_releases() -> None:
    r = upgrade(probes=(probe(), leak()))
    r = dataclasses.replace(r, cni_version_before="kube-router v2.1.0", cni_version_after="bridge")
    lines = headline(r)
    assert lines[1].endswith("; CNI version kube-router v2.1.0 -> bridge")
    assert "must not get through: 1 probes, 1 leaked, the first at" in lines[3]


def test_without_known_releases_the_headline_says_nothing_of_them() -> None:
    r = dataclasses.replace(upgrade(), cni_version_before="", cni_version_after="")
    assert "CNI version" not in "\n".join(headline(r))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-0.001, "+0.00"), (0.0, "+0.00"), (-0.004, "+0.00"), (-0.4, "-0.40"), (1.256, "+1.26")],
)
def test_times_relative_to_the_upgrade_never_read_minus_zero(seconds: float, text: str) -> None:
    assert signed(seconds) == text
