"""The catalogue's manifests deploy exactly the topology its scenarios' tables are written for."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess

import pytest

from netpol_conformance.model.topology import Port
from netpol_conformance.plan.layout import CATALOGUE_MANIFESTS, load_layout
from netpol_conformance.run.render import Renderer
from netpol_conformance.scenarios.topology import SERVED, catalogue_topology


def layout():
    return load_layout(CATALOGUE_MANIFESTS)


def test_the_pods_and_labels_are_the_scenarios_topology() -> None:
    expected = {p.key: dict(p.labels) for p in catalogue_topology().pods}
    assert {p.key: dict(p.labels) for p in layout().pods} == expected
    assert layout().namespaces == tuple(n.name for n in catalogue_topology().namespaces)


def test_every_pod_serves_the_scenarios_ports_under_their_names() -> None:
    """Served ports are declared on every pod (where named ports resolve), plus each pod's own
    `web`: TCP and UDP on the server container, SCTP on the sctp-server container."""
    by_key = {p.key: p for p in catalogue_topology().pods}
    served = {Port(p.port, p.protocol, p.name) for p in layout().server_ports}
    assert served == set(SERVED)
    assert {p.protocol for p in served} == {"TCP", "UDP", "SCTP"}
    renderer = Renderer(layout(), suffix="t", run_id="r", deployment="d")
    for doc in renderer.pods():
        if doc["kind"] != "Pod":
            continue
        key = f"{doc['metadata']['namespace'].removesuffix('-t')}/{doc['metadata']['name']}"
        containers = {c["name"]: c for c in doc["spec"]["containers"]}
        declared = {
            Port(cp["containerPort"], cp["protocol"], cp["name"])
            for c in containers.values()
            for cp in c.get("ports") or ()
        }
        assert declared == set(by_key[key].ports), key
        sctp = {cp["protocol"] for cp in containers["sctp-server"]["ports"]}
        assert sctp == {"SCTP"}, key


def test_the_server_listens_on_every_served_port() -> None:
    conf = layout().server_config["data"]["nginx.conf"]
    sctp_server = next(
        c for c in layout().pod_template["spec"]["containers"] if c["name"] == "sctp-server"
    )
    script = sctp_server["command"][-1]
    sctp_ports = re.search(r"for port in ([\d ]+); do", script)
    assert sctp_ports and "SCTP-LISTEN:$port,fork" in script
    for p in layout().server_ports:
        if p.protocol == "SCTP":
            assert str(p.port) in sctp_ports.group(1).split(), p
            continue
        udp = " udp" if p.protocol == "UDP" else ""
        assert f"listen {p.port}{udp};" in conf, p


def test_sctp_server_runs_the_probe_image_and_follows_its_override() -> None:
    images = layout().images
    assert images["sctp-server"] == images["probe"]
    renderer = Renderer(
        layout(), suffix="t", run_id="r", deployment="d", images={"probe": "local/probe:1"}
    )
    doc = next(d for d in renderer.pods() if d["kind"] == "Pod")
    by_name = {c["name"]: c["image"] for c in doc["spec"]["containers"]}
    assert by_name["sctp-server"] == by_name["probe"] == "local/probe:1"


def test_sctp_server_stays_up_on_a_kernel_without_sctp() -> None:
    """It must not crash-loop (the pod would never be Ready): it logs why and sleeps."""
    script = next(
        c for c in layout().pod_template["spec"]["containers"] if c["name"] == "sctp-server"
    )["command"][-1]
    assert "the node's kernel cannot carry SCTP" in script
    assert "exec sleep infinity" in script


@pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat")
def test_sctp_server_script_on_this_kernel() -> None:
    """The container's script itself, run here for 1.5 s (it only ever connects to loopback):
    without SCTP in the kernel it logs the one line and keeps running."""
    script = next(
        c for c in layout().pod_template["spec"]["containers"] if c["name"] == "sctp-server"
    )["command"][-1]
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP).close()
        pytest.skip("this kernel carries SCTP: the script would listen on 80 and 81")
    except OSError:
        pass
    proc = subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=1.5)
    finally:
        proc.kill()
    out = proc.communicate()[0]
    assert out.startswith("sctp-server: the node's kernel cannot carry SCTP"), out
    assert "Protocol not supported" in out and len(out.splitlines()) == 1
