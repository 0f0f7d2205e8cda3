"""The catalogue's manifests deploy exactly the topology its scenarios' tables are written for."""

from __future__ import annotations

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
    `web`; SCTP is left out until the suite has an SCTP probe (its scenarios are skipped)."""
    by_key = {p.key: p for p in catalogue_topology().pods}
    served = {Port(p.port, p.protocol, p.name) for p in layout().server_ports}
    assert served == {p for p in SERVED if p.protocol != "SCTP"}
    renderer = Renderer(layout(), suffix="t", run_id="r", deployment="d")
    for doc in renderer.pods():
        if doc["kind"] != "Pod":
            continue
        key = f"{doc['metadata']['namespace'].removesuffix('-t')}/{doc['metadata']['name']}"
        declared = {
            Port(cp["containerPort"], cp["protocol"], cp["name"])
            for cp in doc["spec"]["containers"][0]["ports"]
        }
        wanted = {p for p in by_key[key].ports if p.protocol != "SCTP"}
        assert declared == wanted, key


def test_the_server_listens_on_every_served_port() -> None:
    conf = layout().server_config["data"]["nginx.conf"]
    for p in layout().server_ports:
        udp = " udp" if p.protocol == "UDP" else ""
        assert f"listen {p.port}{udp};" in conf, p
