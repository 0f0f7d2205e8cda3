"""Topology files are validated as strictly as manifests: every problem, with its field path."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from netpol_conformance.errors import FieldProblem, ManifestError
from netpol_conformance.model.topology_file import load_topology, topology_from_dict

Problem = tuple[str, str, str]  # (object, field path, message)


def problems(data: Any) -> list[Problem]:
    with pytest.raises(ManifestError) as info:
        topology_from_dict(data, "topo.yaml")
    assert all(p.source == "topo.yaml" for p in info.value.problems)
    return [(p.obj, p.path, p.message) for p in info.value.problems]


def paths(data: Any) -> list[str]:
    return [path for _, path, _ in problems(data)]


def pod(name: str = "a", ip: str = "10.0.0.1", namespace: str = "x", **more: Any) -> dict:
    return {"namespace": namespace, "name": name, "ip": ip, **more}


# --- namespaces


def test_a_namespace_written_as_a_string_is_refused_with_the_fix() -> None:
    assert problems({"namespaces": ["x", {"name": "y"}]}) == [
        ("", "namespaces[0]", "must be a mapping such as {name: x}, got a string 'x'")
    ]


def test_a_namespace_without_a_name_is_refused() -> None:
    assert problems({"namespaces": [{"labels": {"team": "red"}}]}) == [
        ("", "namespaces[0].name", "required")
    ]


def test_a_namespace_listed_twice_is_refused_at_the_second() -> None:
    data = {"namespaces": [{"name": "x"}, {"name": "y"}, {"name": "x", "labels": {"t": "b"}}]}
    assert problems(data) == [
        ("namespace x", "namespaces[2].name", "namespace x is already defined at namespaces[0]")
    ]


@pytest.mark.parametrize("name", ["X", "a_b", "-a", "a" * 64, "a.b", 7, True])
def test_namespace_names_follow_the_api_server(name: Any) -> None:
    assert paths({"namespaces": [{"name": name}]}) == ["namespaces[0].name"]


def test_the_name_label_of_a_namespace_cannot_say_another_name() -> None:
    data = {"namespaces": [{"name": "x", "labels": {"kubernetes.io/metadata.name": "y"}}]}
    assert paths(data) == ["namespaces[0].labels.kubernetes.io/metadata.name"]
    same = {"namespaces": [{"name": "x", "labels": {"kubernetes.io/metadata.name": "x"}}]}
    assert topology_from_dict(same).namespace("x").labels == {"kubernetes.io/metadata.name": "x"}


def test_namespaces_must_be_a_list() -> None:
    assert problems({"namespaces": {"x": {}}}) == [
        ("", "namespaces", "must be a list, got a mapping")
    ]


# --- pods


def test_two_pods_with_one_address_are_refused_naming_the_first() -> None:
    data = {"pods": [pod("a", "10.0.0.1"), pod("b", "10.0.0.2"), pod("c", "10.0.0.1")]}
    assert problems(data) == [
        ("pod x/c", "pods[2].ip", "10.0.0.1 is already the address of pod x/a (pods[0])")
    ]


def test_one_address_written_two_ways_is_still_one_address() -> None:
    data = {"pods": [pod("a", "fd00::1"), pod("b", "FD00:0:0::1")]}
    assert paths(data) == ["pods[1].ip"]


def test_a_pod_and_an_external_cannot_share_an_address() -> None:
    data = {"pods": [pod("a", "192.0.2.1")], "externals": [{"name": "db", "ip": "192.0.2.1"}]}
    assert problems(data) == [
        ("external db", "externals[0].ip", "192.0.2.1 is already the address of pod x/a (pods[0])")
    ]


def test_a_pod_defined_twice_is_refused() -> None:
    data = {"pods": [pod("a", "10.0.0.1"), pod("a", "10.0.0.2"), pod("a", "10.0.0.3", "y")]}
    assert problems(data) == [("pod x/a", "pods[1].name", "pod x/a is already defined at pods[0]")]


@pytest.mark.parametrize(
    ("entry", "path"),
    [
        ({"name": "a", "ip": "10.0.0.1"}, "pods[0].namespace"),
        ({"namespace": "x", "ip": "10.0.0.1"}, "pods[0].name"),
        ({"namespace": "x", "name": "a"}, "pods[0].ip"),
        (pod(namespace="X"), "pods[0].namespace"),
        (pod(name="A_b"), "pods[0].name"),
        (pod(name="a" * 254), "pods[0].name"),
        (pod(ip="10.0.0.256"), "pods[0].ip"),
        (pod(ip="10.0.0.0/24"), "pods[0].ip"),
        (pod(ip=167772161), "pods[0].ip"),
        (pod(ip="0.0.0.0"), "pods[0].ip"),
        (pod(ip="224.0.0.1"), "pods[0].ip"),
        (pod(ipaddress="10.0.0.2"), "pods[0].ipaddress"),
        (pod(labels=["app=a"]), "pods[0].labels"),
        (pod(labels={"app": 1}), "pods[0].labels.app"),
        (pod(labels={"app": True}), "pods[0].labels.app"),
        (pod(labels={"app": "a b"}), "pods[0].labels.app"),
        (pod(labels={"bad key": "a"}), "pods[0].labels"),
        (pod(ports=80), "pods[0].ports"),
        (pod(ports=[80]), "pods[0].ports[0]"),
        (pod(ports=[{"name": "http"}]), "pods[0].ports[0].port"),
        (pod(ports=[{"port": "80"}]), "pods[0].ports[0].port"),
        (pod(ports=[{"port": True}]), "pods[0].ports[0].port"),
        (pod(ports=[{"port": 0}]), "pods[0].ports[0].port"),
        (pod(ports=[{"port": 65536}]), "pods[0].ports[0].port"),
        (pod(ports=[{"port": 80, "protocol": "tcp"}]), "pods[0].ports[0].protocol"),
        (pod(ports=[{"port": 80, "name": "HTTP"}]), "pods[0].ports[0].name"),
        (pod(ports=[{"port": 80, "name": "a-very-long-port-name"}]), "pods[0].ports[0].name"),
        (pod(ports=[{"port": 80, "name": "80"}]), "pods[0].ports[0].name"),
        (pod(ports=[{"port": 80, "targetPort": 8080}]), "pods[0].ports[0].targetPort"),
        ("x/a", "pods[0]"),
    ],
)
def test_each_bad_pod_field_is_named_by_its_path(entry: Any, path: str) -> None:
    assert paths({"pods": [entry]}) == [path]


def test_a_port_name_is_used_once_per_pod() -> None:
    ports = [{"port": 80, "name": "http"}, {"port": 8080, "name": "http"}]
    assert problems({"pods": [pod(ports=ports)]}) == [
        ("pod x/a", "pods[0].ports[1].name", "port name 'http' is already used by pods[0].ports[0]")
    ]
    # Two pods may each have their "http"; one number under two names is one port twice.
    two = [pod("a", ports=ports[:1]), pod("b", "10.0.0.2", ports=ports[1:])]
    assert len(topology_from_dict({"pods": two}).pods) == 2
    same_number = [{"port": 80, "name": "http"}, {"port": 80, "name": "web"}]
    assert len(topology_from_dict({"pods": [pod(ports=same_number)]}).pod("x/a").ports) == 2


def test_a_null_protocol_is_tcp() -> None:
    topology = topology_from_dict({"pods": [pod(ports=[{"port": 80, "protocol": None}])]})
    assert topology.pod("x/a").ports[0].protocol == "TCP"


# --- externals


@pytest.mark.parametrize(
    ("entry", "path"),
    [
        ({"ip": "192.0.2.1"}, "externals[0].name"),
        ({"name": "db"}, "externals[0].ip"),
        ({"name": "db/x", "ip": "192.0.2.1"}, "externals[0].name"),
        ({"name": "db", "ip": "192.0.2.1", "ports": [{"port": 5432, "name": "pg"}]},
         "externals[0].ports[0].name"),
        ({"name": "db", "ip": "192.0.2.1", "labels": {}}, "externals[0].labels"),
        (["db"], "externals[0]"),
    ],
)  # fmt: skip
def test_each_bad_external_field_is_named_by_its_path(entry: Any, path: str) -> None:
    assert paths({"externals": [entry]}) == [path]


def test_an_external_defined_twice_is_refused() -> None:
    data = {"externals": [{"name": "db", "ip": "192.0.2.1"}, {"name": "db", "ip": "192.0.2.2"}]}
    assert problems(data) == [
        ("external db", "externals[1].name", "external db is already defined at externals[0]")
    ]


# --- the whole file


def test_every_problem_is_listed_at_once_in_document_order() -> None:
    data = {
        "namespaces": ["x", {"name": "x"}, {"name": "x"}],
        "pods": [pod(ip="10.0.0.1"), pod(ip="10.0.0.1"), pod("b", "10.0.0.3", labels={"v": 2})],
        "externals": [{"name": "e", "ip": "nowhere"}],
        "hosts": [],
    }
    with pytest.raises(ManifestError) as info:
        topology_from_dict(data, "topo.yaml")
    assert [p.path for p in info.value.problems] == [
        "hosts",
        "namespaces[0]",
        "namespaces[2].name",
        "pods[1].name",
        "pods[1].ip",
        "pods[2].labels.v",
        "externals[0].ip",
    ]
    message = str(info.value)
    assert message.startswith("7 problems in the topology:\n")
    assert "  topo.yaml: pod x/a: pods[1].ip: 10.0.0.1 is already the address of pod x/a" in message


@pytest.mark.parametrize("data", [None, [], "pods", 3])
def test_the_topology_must_be_a_mapping(data: Any) -> None:
    assert paths(data) == [""]


def test_a_file_problem_reads_as_one_line() -> None:
    problem = FieldProblem("t.yaml", "pod x/a", "pods[0].ip", "required")
    assert str(problem) == "t.yaml: pod x/a: pods[0].ip: required"


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "topology.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def load_problems(path: Path) -> list[FieldProblem]:
    with pytest.raises(ManifestError) as info:
        load_topology(path)
    return info.value.problems


def test_a_key_written_twice_in_the_file_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "pods:\n- namespace: x\n  name: a\n  ip: 10.0.0.1\n  ip: 10.0.0.2\n")
    (problem,) = load_problems(path)
    assert problem.source == f"{path}:5"
    assert "found key 'ip' a second time (first on line 4)" in problem.message


def test_unreadable_files_are_one_problem_each(tmp_path: Path) -> None:
    (problem,) = load_problems(write(tmp_path, b"pods: [\xff]\n"))
    assert problem.message == "cannot read: not UTF-8 text (byte 7)"
    (problem,) = load_problems(tmp_path)
    assert problem.message.startswith("cannot read: ")
    (problem,) = load_problems(write(tmp_path, "pods: [\n"))
    assert problem.source == f"{tmp_path / 'topology.yaml'}:2"
    assert problem.message.startswith("not valid YAML: ")
    assert "\n" not in problem.message
    (problem,) = load_problems(write(tmp_path, ""))
    assert "empty" in problem.message


# --- properties

ADDRESSES = ("10.0.0.1", "10.0.0.2", "fd00::1", "FD00:0::1", "fd00::2", "192.0.2.1")


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(ADDRESSES)), min_size=1, max_size=8))
def test_every_reused_address_is_reported_at_each_later_holder(
    entries: list[tuple[bool, str]],
) -> None:
    pods = [pod(f"p{i}", ip) for i, (is_pod, ip) in enumerate(entries) if is_pod]
    externals = [{"name": f"e{i}", "ip": ip} for i, (pod_, ip) in enumerate(entries) if not pod_]
    holders = [(f"pods[{j}].ip", p["ip"]) for j, p in enumerate(pods)]
    holders += [(f"externals[{j}].ip", e["ip"]) for j, e in enumerate(externals)]
    seen: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    expected = []
    for path, ip in holders:
        address = ipaddress.ip_address(ip)
        if address in seen:
            expected.append(path)
        seen.add(address)
    data = {"pods": pods, "externals": externals}
    if expected:
        assert paths(data) == expected
    else:
        topology = topology_from_dict(data)
        assert len(topology.endpoints) == len(entries)


NAMES = st.sampled_from(("a", "b", "web", "db-0"))
LABELS = st.dictionaries(st.sampled_from(("app", "tier")), st.sampled_from(("a", "b")), max_size=2)
PORTS = st.lists(
    st.fixed_dictionaries(
        {"port": st.integers(1, 65535)}, optional={"protocol": st.sampled_from(("TCP", "UDP"))}
    ),
    max_size=2,
)


@st.composite
def valid_topologies(draw: st.DrawFn) -> dict[str, Any]:
    namespaces = draw(st.lists(st.sampled_from(("x", "y", "z")), unique=True, max_size=3))
    keys = draw(st.lists(st.tuples(st.sampled_from(("x", "y", "q")), NAMES), unique=True))
    pods = [
        {"namespace": ns, "name": name, "ip": f"10.0.0.{i + 1}", "labels": draw(LABELS),
         "ports": draw(PORTS)}
        for i, (ns, name) in enumerate(keys)
    ]  # fmt: skip
    return {"namespaces": [{"name": n, "labels": draw(LABELS)} for n in namespaces], "pods": pods}


@settings(max_examples=60, deadline=None)
@given(valid_topologies())
def test_a_valid_topology_file_reads_back_exactly(data: dict[str, Any]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.yaml"
        path.write_text(yaml.safe_dump(data))
        topology = load_topology(path)
    assert [(p.namespace, p.name, str(p.ip), dict(p.labels)) for p in topology.pods] == [
        (p["namespace"], p["name"], p["ip"], p["labels"]) for p in data["pods"]
    ]
    assert [[(x.port, x.protocol) for x in p.ports] for p in topology.pods] == [
        [(x["port"], x.get("protocol", "TCP")) for x in p["ports"]] for p in data["pods"]
    ]
    listed = [n["name"] for n in data["namespaces"]]
    implied = [ns for ns in dict.fromkeys(p["namespace"] for p in data["pods"]) if ns not in listed]
    assert [n.name for n in topology.namespaces] == listed + implied
