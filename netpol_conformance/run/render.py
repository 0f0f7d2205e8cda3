"""Render the tutorial's manifests for one isolated run.

Every namespace gets a unique suffix (``frontend`` -> ``frontend-k3x9q``) so that parallel
workers never collide; ``kubernetes.io/metadata.name`` selectors are rewritten to match; the
tutorial's placeholder ipBlock is rendered to the real external host; images and the pull
policy are set; every object carries the managed label so that clean-up can always find it.
"""

from __future__ import annotations

import copy
import ipaddress
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from netpol_conformance.cluster.base import MANAGED_LABEL, RUN_LABEL
from netpol_conformance.errors import SetupError
from netpol_conformance.model.topology import NAMESPACE_NAME_LABEL
from netpol_conformance.plan.layout import Layout, LogicalPod
from netpol_conformance.policy.loader import load_documents

DEPLOYMENT_LABEL = "netpol-conformance.io/deployment"
HOSTNAME_LABEL = "kubernetes.io/hostname"
# A container that runs another container's image takes that one's override too (the
# catalogue's sctp-server runs the probe image's socat: --probe-image, or the local cluster's
# own probe image, replaces both).
SAME_IMAGE = {"sctp-server": "probe"}


def new_suffix(length: int = 5) -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass
class Renderer:
    layout: Layout
    suffix: str
    run_id: str
    deployment: str  # which deployment of the run (one per worker process)
    images: Mapping[str, str] = field(default_factory=dict)  # container name -> image
    pull_policy: str | None = None
    external_ip: str | None = None
    placement: Mapping[str, str] = field(default_factory=dict)  # node slot -> node name

    @property
    def namespace_map(self) -> dict[str, str]:
        return {ns: f"{ns}-{self.suffix}" for ns in self.layout.namespaces}

    def namespace(self, logical: str) -> str:
        return self.namespace_map.get(logical, logical)

    def logical_namespace(self, rendered: str) -> str:
        for logical, real in self.namespace_map.items():
            if real == rendered:
                return logical
        return rendered

    @property
    def deployment_label(self) -> str:
        """The deployment as a label value: at most 63 characters, alphanumeric at both ends."""
        return self.deployment[:63].strip("-_.")

    def _labels(self, meta: dict[str, Any]) -> None:
        labels = meta.setdefault("labels", {}) or {}
        labels.update(
            {
                MANAGED_LABEL: "true",
                RUN_LABEL: self.run_id,
                DEPLOYMENT_LABEL: self.deployment_label,
            }
        )
        meta["labels"] = labels

    def _rewrite_selector(self, selector: Any) -> None:
        if not isinstance(selector, dict):
            return
        labels = selector.get("matchLabels") or {}
        if NAMESPACE_NAME_LABEL in labels:
            labels[NAMESPACE_NAME_LABEL] = self.namespace(labels[NAMESPACE_NAME_LABEL])
        for expr in selector.get("matchExpressions") or []:
            if expr.get("key") == NAMESPACE_NAME_LABEL:
                expr["values"] = [self.namespace(v) for v in expr.get("values") or []]

    def _external_cidr(self, cidr: str) -> str:
        """The tutorial's placeholder host (10.0.1.50/32) becomes the external host, and a
        small network around it (up to 256 addresses: 10.0.1.0/24) the same-sized network
        around the external host. Anything else is kept."""
        if self.external_ip is None or not isinstance(cidr, str):
            return cidr
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return cidr  # left for validation to report
        placeholder = ipaddress.ip_network(self.layout.external_placeholder)
        host_bits = network.max_prefixlen - network.prefixlen
        if network.version != placeholder.version or not placeholder.subnet_of(network):
            return cidr
        if host_bits > 8:
            return cidr
        ip = ipaddress.ip_address(self.external_ip)
        return str(ipaddress.ip_network(f"{ip}/{ip.max_prefixlen - host_bits}", strict=False))

    def policy(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(dict(doc))
        meta = out.setdefault("metadata", {})
        meta["namespace"] = self.namespace(meta.get("namespace", ""))
        self._labels(meta)
        spec = out.get("spec") or {}
        for direction, peers_key in (("ingress", "from"), ("egress", "to")):
            for rule in spec.get(direction) or []:
                for peer in (rule or {}).get(peers_key) or []:
                    self._rewrite_selector(peer.get("namespaceSelector"))
                    block = peer.get("ipBlock")
                    if isinstance(block, dict) and "cidr" in block:
                        cidr = self._external_cidr(block["cidr"])
                        if cidr != block["cidr"] and isinstance(block.get("except"), list):
                            block["except"] = [self._external_cidr(c) for c in block["except"]]
                        block["cidr"] = cidr
        return out

    def policies(self, folders: Iterable[str]) -> list[dict[str, Any]]:
        paths = [self.layout.root / f for f in folders]
        return [self.policy(doc) for _, doc in load_documents(paths)]

    def namespaces(self) -> list[dict[str, Any]]:
        out = []
        for logical, real in self.namespace_map.items():
            meta: dict[str, Any] = {
                "name": real,
                "labels": {"netpol-conformance.io/logical": logical},
            }
            self._labels(meta)
            out.append({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
        return out

    def _pod_spec(self, doc: dict[str, Any]) -> dict[str, Any]:
        images = {**self.layout.images, **self.images}
        for container, same_as in SAME_IMAGE.items():
            if same_as in self.images:  # an overridden image is overridden where it also runs
                images[container] = self.images[same_as]
        for c in doc["spec"]["containers"]:
            if c["name"] in images:
                c["image"] = images[c["name"]]
            if self.pull_policy:
                c["imagePullPolicy"] = self.pull_policy
        return doc

    def pods(self) -> list[dict[str, Any]]:
        out = []
        for ns in self.layout.namespaces:
            cfg = copy.deepcopy(self.layout.server_config)
            cfg["metadata"]["namespace"] = self.namespace(ns)
            self._labels(cfg["metadata"])
            out.append(cfg)
        return out + [self.pod(pod) for pod in self.layout.pods]

    def pod(self, pod: LogicalPod) -> dict[str, Any]:
        """One test pod: the template with the pod's name, labels, placement and own ports
        (declared on the server container, where a named port of a policy looks them up)."""
        doc = copy.deepcopy(self.layout.pod_template)
        doc["metadata"].update(name=pod.name, namespace=self.namespace(pod.namespace))
        doc["metadata"]["labels"] = dict(pod.labels)
        self._labels(doc["metadata"])
        if pod.node in self.placement:
            doc["spec"]["nodeSelector"] = {HOSTNAME_LABEL: self.placement[pod.node]}
        if pod.ports:
            server = doc["spec"]["containers"][0]
            server["ports"] = [
                *(server.get("ports") or []),
                *(
                    {"name": p.name, "containerPort": p.port, "protocol": p.protocol}
                    for p in pod.ports
                ),
            ]
        return self._pod_spec(doc)

    def host_network_pod(self, namespace: str = "frontend") -> dict[str, Any]:
        if self.layout.host_network_pod is None:
            raise SetupError(f"{self.layout.root}: the topology has no host-network-pod.yaml")
        doc = copy.deepcopy(self.layout.host_network_pod)
        doc["metadata"]["namespace"] = self.namespace(namespace)
        self._labels(doc["metadata"])
        return self._pod_spec(doc)
