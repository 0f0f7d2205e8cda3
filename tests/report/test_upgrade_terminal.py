"""The terminal timeline's headline: what an operator reads first."""

from __future__ import annotations

import dataclasses
import re

import pytest
from rich.console import Console
from upgrade_records import leak, probe, upgrade

from netpol_conformance.report.html_upgrade import upgrade_view
from netpol_conformance.report.upgrade_terminal import headline, print_timeline
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


def _leak_table(r: object) -> str:
    console = Console(width=200, record=True)
    print_timeline(r, console)  # type: ignore[arg-type]
    text = console.export_text()
    return text[text.index("Leaks (") :]


def test_leaks_enforced_on_two_nodes_name_each_ones_nodes() -> None:
    r = upgrade(
        probes=(
            leak("x/a->y/b:80/TCP", enforced_on=("node-1",)),
            leak("x/b->y/a:80/TCP", enforced_on=("node-1", "node-2")),
        )
    )
    table = _leak_table(r)
    assert "enforced on" in table
    rows = [re.split(r"\s{2,}", line.strip()) for line in table.splitlines() if "/TCP  " in line]
    assert [row[1] for row in rows] == ["node-1", "node-1, node-2"]
    view = upgrade_view(r)
    assert view.leak_columns[:3] == ["probe", "gated", "enforced on"]
    assert [row[2] for row in view.leaks] == ["node-1", "node-1, node-2"]
    assert all(len(row) == len(view.leak_columns) for row in view.leaks)


def test_leaks_of_one_node_do_not_repeat_it_on_every_row() -> None:
    r = upgrade(probes=(leak(enforced_on=("node-1",)), leak("x/a->y/b:80/TCP")))
    assert "enforced on" not in _leak_table(r)
    view = upgrade_view(r)
    assert "enforced on" not in view.leak_columns
    assert all(len(row) == len(view.leak_columns) for row in view.leaks)
