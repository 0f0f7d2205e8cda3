"""The test pods' servers: topology.yaml's server_ports, the pod template's container ports and
nginx's listen lines say the same thing, UDP included."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from netpol_conformance.errors import SetupError
from netpol_conformance.plan.layout import DEFAULT_MANIFESTS, ServerPort, load_layout


def test_server_ports_have_protocols() -> None:
    assert load_layout().server_ports == (
        ServerPort("http", 80, "TCP"),
        ServerPort("postgres", 5432, "TCP"),
        ServerPort("dns-tcp", 53, "TCP"),
        ServerPort("dns-udp", 53, "UDP"),
        ServerPort("postgres-udp", 5432, "UDP"),
    )


def test_the_pod_template_declares_every_server_port() -> None:
    layout = load_layout()
    (server,) = [c for c in layout.pod_template["spec"]["containers"] if c["name"] == "server"]
    declared = {(p["name"], p["containerPort"], p["protocol"]) for p in server["ports"]}
    assert declared == set(layout.server_ports)


def test_nginx_listens_on_every_server_port_for_ipv4_and_ipv6() -> None:
    layout = load_layout()
    conf = layout.server_config["data"]["nginx.conf"]
    http, _, stream = conf.partition("\nstream {")
    assert "\nhttp {" in http
    listens = {
        ("TCP", m.group(1), m.group(2)) for m in re.finditer(r"listen (\[::\]:)?(\d+);", http)
    } | {
        ("UDP", m.group(1), m.group(2)) for m in re.finditer(r"listen (\[::\]:)?(\d+) udp;", stream)
    }
    wanted = {(p.protocol, v6, str(p.port)) for p in layout.server_ports for v6 in (None, "[::]:")}
    assert listens == wanted


def test_the_server_runs_the_mounted_config() -> None:
    layout = load_layout()
    (server,) = [c for c in layout.pod_template["spec"]["containers"] if c["name"] == "server"]
    (mount,) = server["volumeMounts"]
    assert server["command"][:3] == ["nginx", "-c", f"{mount['mountPath']}/nginx.conf"]
    assert list(layout.server_config["data"]) == ["nginx.conf"]


def _manifests_with(tmp_path: Path, server_ports: list[dict[str, object]]) -> Path:
    root = tmp_path / "manifests"
    shutil.copytree(DEFAULT_MANIFESTS / "topology", root / "topology")
    topo = root / "topology" / "topology.yaml"
    data = yaml.safe_load(topo.read_text())
    data["server_ports"] = server_ports
    topo.write_text(yaml.safe_dump(data))
    return root


def test_protocol_defaults_to_tcp(tmp_path: Path) -> None:
    root = _manifests_with(tmp_path, [{"name": "http", "port": 80}])
    assert load_layout(root).server_ports == (ServerPort("http", 80, "TCP"),)


def test_an_unknown_protocol_is_refused_with_one_line(tmp_path: Path) -> None:
    root = _manifests_with(tmp_path, [{"name": "x", "port": 9, "protocol": "ICMP"}])
    with pytest.raises(SetupError, match=r"server_ports entry 'x' has protocol 'ICMP'; use one"):
        load_layout(root)
