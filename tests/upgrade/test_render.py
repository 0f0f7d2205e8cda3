"""The terminal timeline's headline: what an operator reads first."""

from __future__ import annotations

import dataclasses

from upgrade_records import leak, probe, upgrade

from netpol_conformance.upgrade.render import headline


def test_the_headline_counts_leaks_and_names_the_cni_releases() -> None:
    r = upgrade(probes=(probe(), leak()))
    r = dataclasses.replace(r, cni_version_before="kube-router v2.1.0", cni_version_after="bridge")
    lines = headline(r)
    assert lines[1].endswith("; CNI version kube-router v2.1.0 -> bridge")
    assert "must not get through: 1 probes, 1 leaked, the first at" in lines[3]


def test_without_known_releases_the_headline_says_nothing_of_them() -> None:
    r = dataclasses.replace(upgrade(), cni_version_before="", cni_version_after="")
    assert "CNI version" not in "\n".join(headline(r))
