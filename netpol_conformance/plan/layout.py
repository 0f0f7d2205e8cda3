"""The tutorial's topology as written in manifests/topology: logical names, before rendering."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from netpol_conformance.errors import SetupError

DEFAULT_MANIFESTS = Path(__file__).resolve().parent.parent / "manifests"  # package data
# The catalogue's own topology: always the package's (its scenarios are written for it).
CATALOGUE_MANIFESTS = DEFAULT_MANIFESTS / "catalogue"
DNS_TARGET = "dns"  # the pseudo-destination of DNS probes in tables and ids


class ServerPort(NamedTuple):
    """A port the server container of every test pod answers on."""

    name: str
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class LogicalPod:
    namespace: str
    name: str
    labels: tuple[tuple[str, str], ...]
    node: str = ""  # placement slot (topology.yaml's `node`); the backend maps it to a node
    ports: tuple[ServerPort, ...] = ()  # named ports of this pod only (topology.yaml's `ports`)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


SERVER_PROTOCOLS = ("TCP", "UDP", "SCTP")  # what the test pods' servers can answer


@dataclass(frozen=True)
class Layout:
    """Everything the suite reads from manifests/topology."""

    root: Path
    namespaces: tuple[str, ...]
    pods: tuple[LogicalPod, ...]
    external_name: str  # "": the topology has no external host
    external_placeholder: str
    external_ports: tuple[int, ...]
    server_ports: tuple[ServerPort, ...]
    dns_name: str
    pod_template: dict[str, Any]
    server_config: dict[str, Any]
    host_network_pod: dict[str, Any] | None  # None: the topology has no host-network check

    @property
    def images(self) -> dict[str, str]:
        """The pinned image of each container of the test pods (pod.yaml), by container name."""
        return {c["name"]: c["image"] for c in self.pod_template["spec"]["containers"]}


def _yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SetupError(f"cannot read {path}: {exc}") from None


def _server_port(entry: dict[str, Any], topo_dir: Path) -> ServerPort:
    protocol = entry.get("protocol", "TCP")
    if protocol not in SERVER_PROTOCOLS:
        raise SetupError(
            f"{topo_dir / 'topology.yaml'}: server_ports entry {entry.get('name')!r} has "
            f"protocol {protocol!r}; use one of {', '.join(SERVER_PROTOCOLS)}"
        )
    return ServerPort(entry["name"], entry["port"], protocol)


@cache
def load_layout(root: Path = DEFAULT_MANIFESTS) -> Layout:
    topo_dir = root / "topology"
    if not (topo_dir / "topology.yaml").is_file():
        raise SetupError(
            f"{topo_dir / 'topology.yaml'} is missing: point --manifests at a directory laid "
            "out like the package's manifests/ (topology/, step-*/, mistakes/)"
        )
    data = _yaml(topo_dir / "topology.yaml")
    ext = data.get("external") or {"name": "", "placeholder_cidr": "", "ports": []}
    host_network = topo_dir / "host-network-pod.yaml"
    return Layout(
        root=root,
        namespaces=tuple(data["namespaces"]),
        pods=tuple(
            LogicalPod(
                p["namespace"],
                p["name"],
                tuple(sorted((p.get("labels") or {}).items())),
                str(p.get("node") or ""),
                tuple(_server_port(port, topo_dir) for port in p.get("ports") or ()),
            )
            for p in data["pods"]
        ),
        external_name=ext["name"],
        external_placeholder=ext["placeholder_cidr"],
        external_ports=tuple(ext["ports"]),
        server_ports=tuple(_server_port(p, topo_dir) for p in data["server_ports"]),
        dns_name=(data.get("dns") or {}).get("name", ""),
        pod_template=_yaml(topo_dir / "pod.yaml"),
        server_config=_yaml(topo_dir / "server-config.yaml"),
        host_network_pod=_yaml(host_network) if host_network.is_file() else None,
    )
