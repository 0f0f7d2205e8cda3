"""The topology model: namespaces, pods, ports, externals, and its validation."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from policy_helpers import BASIC, basic

from netpol_conformance.errors import ManifestError
from netpol_conformance.model.topology import NAMESPACE_NAME_LABEL, Namespace, Port
from netpol_conformance.model.topology_file import load_topology, topology_from_dict


def test_namespace_name_label_is_always_present() -> None:
    assert Namespace("x").effective_labels == {NAMESPACE_NAME_LABEL: "x"}
    assert Namespace("x", {"team": "red"}).effective_labels == {
        "team": "red",
        NAMESPACE_NAME_LABEL: "x",
    }


def test_namespace_name_label_cannot_be_overridden() -> None:
    assert Namespace("x", {NAMESPACE_NAME_LABEL: "y"}).effective_labels[NAMESPACE_NAME_LABEL] == "x"


def test_pods_keep_labels_ip_and_named_ports() -> None:
    topology = basic()
    pod = topology.pod("x/b")
    assert pod.labels == {"app": "b", "tier": "db"}
    assert pod.ip == ipaddress.ip_address("10.0.1.2")
    assert pod.ports == (Port(80, "TCP", "http"), Port(53, "UDP", "dns"))
    assert pod.named_port("dns", "UDP") == 53
    assert pod.named_port("dns", "TCP") is None
    assert topology.pod("z/c").ip.version == 6


def test_externals_come_after_pods_and_default_to_tcp() -> None:
    topology = basic()
    assert [e.key for e in topology.endpoints] == [
        "x/a",
        "x/b",
        "y/a",
        "y/b",
        "z/c",
        "ext4",
        "ext6",
    ]
    assert topology.endpoint("ext6").ports == (Port(443, "TCP"),)


def test_namespace_of_a_pod_is_created_when_not_declared() -> None:
    topology = topology_from_dict({"pods": [{"namespace": "q", "name": "p", "ip": "10.1.1.1"}]})
    assert [n.name for n in topology.namespaces] == ["q"]
    assert topology.namespace("q").effective_labels == {NAMESPACE_NAME_LABEL: "q"}


def _problems(data: object) -> list[tuple[str, str]]:
    with pytest.raises(ManifestError) as info:
        topology_from_dict(data, "topo.yaml")
    assert all(p.source == "topo.yaml" for p in info.value.problems)
    return [(p.obj, p.path) for p in info.value.problems]


def test_topology_errors_name_the_object_and_field() -> None:
    data = {
        "pods": [
            {"namespace": "x", "name": "a", "ip": "10.0.0.300"},
            {"namespace": "x", "name": "b", "ip": "10.0.0.2",
             "ports": [{"port": 80, "protocol": "ICMP"}]},
            {"namespace": "x", "name": "c", "ip": "10.0.0.3", "ports": [{"port": 70000}]},
            {"namespace": "x", "name": "c", "ip": "10.0.0.4"},
        ],
        "externals": [{"name": "e", "ip": "nowhere"}],
        "hosts": [],
    }  # fmt: skip
    assert _problems(data) == [
        ("", "hosts"),
        ("pod x/a", "pods[0].ip"),
        ("pod x/b", "pods[1].ports[0].protocol"),
        ("pod x/c", "pods[2].ports[0].port"),
        ("pod x/c", "pods[3].name"),
        ("external e", "externals[0].ip"),
    ]


def test_topology_must_be_a_mapping() -> None:
    assert _problems(["x"]) == [("", "")]


@pytest.mark.parametrize(
    "pod",
    [
        {"namespace": "x", "name": "a", "ip": "10.0.0.1", "labels": ["app=a"]},
        {"namespace": "x", "name": "a", "ip": "10.0.0.1", "labels": "app"},
        {"namespace": "x", "name": "a", "ip": "10.0.0.1", "ports": 80},
    ],
    ids=["labels-list", "labels-string", "ports-int"],
)
def test_malformed_pod_fields_are_reported_not_raised(pod: dict) -> None:
    problems = _problems({"pods": [pod]})
    assert problems and problems[0][0] == "pod x/a"


def test_load_topology_reports_missing_and_malformed_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ManifestError) as info:
        load_topology(missing)
    assert str(missing) in str(info.value)
    bad = tmp_path / "bad.yaml"
    bad.write_text("pods: [\n")
    with pytest.raises(ManifestError) as info:
        load_topology(bad)
    assert "not valid YAML" in str(info.value)
    good = tmp_path / "good.yaml"
    import yaml

    good.write_text(yaml.safe_dump(BASIC))
    assert load_topology(good) == basic()
