"""One deployment of the tutorial's topology on a cluster: its namespaces and pods.

A deployment renders the topology with a unique suffix (so that parallel workers never
collide), creates it, waits until every pod is Ready with an address, and resolves logical
probes (``frontend/web -> backend/db:80``) to where to exec and what to reach. Scenarios are
then applied to it in turn; it knows nothing about what their policies mean.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netpol_conformance.cluster.base import RUN_LABEL, Backend, PodState, Progress
from netpol_conformance.cluster.pull_errors import pull_rate_limit_hint
from netpol_conformance.errors import SetupError
from netpol_conformance.model.addresses import plain_address
from netpol_conformance.model.topology import (
    External,
    Namespace,
    Pod,
    Port,
    Topology,
    cluster_dns_pod,
)
from netpol_conformance.plan.layout import DNS_TARGET, Layout, LogicalPod
from netpol_conformance.probe.kinds import kind_of
from netpol_conformance.probe.spec import Probe, ProbeTarget
from netpol_conformance.results.records import CROSS_NODE, DNS_PATH, EXTERNAL, SAME_NODE
from netpol_conformance.run.options import RunOptions
from netpol_conformance.run.render import DEPLOYMENT_LABEL, Renderer, new_suffix

# CoreDNS as the oracle sees it: only its namespace and labels matter, never its address.
DNS_POD = "kube-system/coredns"
_DNS_POD_IP = "192.0.2.53"  # never probed: the oracle needs an address for every pod


@dataclass
class Deployment:
    backend: Backend
    layout: Layout
    options: RunOptions
    run_id: str
    name: str  # this deployment among the run's (one per worker process)
    progress: Progress
    external_ip: str | None = None
    pods: dict[str, PodState] = field(default_factory=dict)  # logical key -> live state
    # Control evidence for refusals from hosts we cannot exec into: (target, port) pairs that
    # answered before any policy was applied.
    answered_before_policies: set[tuple[str, int]] = field(default_factory=set)
    # What scenarios changed since the deployment was created: labels (logical pod key or
    # namespace -> labels as they are now) and pods created after it.
    labels_now: dict[str, dict[str, str]] = field(default_factory=dict)
    created: dict[str, LogicalPod] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.renderer = Renderer(
            self.layout,
            suffix=new_suffix(),
            run_id=self.run_id,
            deployment=self.name,
            images=self.options.images,
            pull_policy=self.options.pull_policy,
            external_ip=self.external_ip,
            placement=self.backend.info.placement,
        )

    @property
    def label_selector(self) -> str:
        return f"{RUN_LABEL}={self.run_id},{DEPLOYMENT_LABEL}={self.renderer.deployment_label}"

    # --- life cycle

    def create(self) -> dict[str, float]:
        """Create the namespaces and pods and wait for them; return seconds per phase."""
        t0 = time.monotonic()
        self.backend.apply(self.renderer.namespaces())
        self.backend.apply(self.renderer.pods())
        t1 = time.monotonic()
        self._wait_for_pods(self.layout.pods)
        return {"create": t1 - t0, "wait": time.monotonic() - t1}

    def destroy(self) -> list[str]:
        return self.backend.delete_namespaces(self.label_selector)

    def destroy_quietly(self) -> float:
        """Delete the namespaces, saying so when that fails (clean-up must not hide the
        results); return the seconds it took."""
        t0 = time.monotonic()
        try:
            self.destroy()
        except Exception as exc:
            self.progress(f"could not delete the namespaces of {self.name}: {exc}")
        return time.monotonic() - t0

    def apply(self, objects: Sequence[Mapping[str, Any]]) -> None:
        self.backend.apply(objects)

    def delete(self, objects: Sequence[Mapping[str, Any]]) -> None:
        self.backend.delete(objects)

    @staticmethod
    def _check_addresses(ready: Mapping[str, PodState]) -> None:
        """One set-up error for a pod address that is not one, not a failure per probe."""
        for key, state in ready.items():
            try:
                plain_address(state.ip)
            except ValueError as exc:
                raise SetupError(f"pod {key} reports the address {state.ip!r}: {exc}") from None

    # --- changes scenarios make

    @property
    def logical_pods(self) -> tuple[LogicalPod, ...]:
        """The topology's pods and those created since, as they are labelled now."""
        return self._labelled(self.labels_now)

    def _labelled(self, labels: Mapping[str, Mapping[str, str]]) -> tuple[LogicalPod, ...]:
        pods = (*self.layout.pods, *self.created.values())
        return tuple(
            dataclasses.replace(p, labels=tuple(sorted(labels[p.key].items())))
            if p.key in labels
            else p
            for p in pods
        )

    def labels_of(self, target: str) -> dict[str, str]:
        """The labels of a pod (``x/a``) or of a namespace (``x``) as they are now (for a
        namespace: those the topology gave it, none beside its name and the run's own)."""
        if target in self.labels_now:
            return dict(self.labels_now[target])
        if "/" not in target:
            return {}
        pod = next((p for p in self.logical_pods if p.key == target), None)
        if pod is None:
            raise SetupError(f"cannot label {target}: the deployment has no such pod")
        return dict(pod.labels)

    def relabel(self, target: str, set_: Mapping[str, str], remove: Sequence[str]) -> None:
        """Set and remove labels on a pod (``x/a``) or a namespace (``x``), on the cluster."""
        labels = {k: v for k, v in self.labels_of(target).items() if k not in remove}
        labels.update(set_)
        ns, _, name = target.partition("/")
        if name:
            self.backend.label("Pod", self.renderer.namespace(ns), name, set_, remove)
        else:
            self.backend.label("Namespace", "", self.renderer.namespace(ns), set_, remove)
        self.labels_now[target] = labels

    def create_pod(self, pod: LogicalPod) -> float:
        """Create a pod of the topology's kind and wait until it is Ready; return when it was
        (time.monotonic), the moment it can first be probed."""
        if pod.key in self.pods:
            raise SetupError(f"cannot create {pod.key}: it exists already")
        self.backend.apply([self.renderer.pod(pod)])
        self.created[pod.key] = pod
        self._wait_for_pods((pod,))
        return time.monotonic()

    def remove_created(self) -> None:
        """Delete the pods created since the deployment (waiting is not needed: their names
        are never used again in this deployment's run of a scenario)."""
        docs = [self.renderer.pod(p) for p in self.created.values()]
        if docs:
            self.backend.delete(docs)
        for key in self.created:
            self.pods.pop(key, None)
        self.created.clear()

    def _wait_for_pods(self, pods: Sequence[LogicalPod]) -> None:
        wanted = {f"{self.renderer.namespace(p.namespace)}/{p.name}": p.key for p in pods}
        namespaces = list(self.renderer.namespace_map.values())
        deadline = time.monotonic() + self.options.pod_ready_timeout
        last_note = time.monotonic()
        while True:
            states = {f"{s.namespace}/{s.name}": s for s in self.backend.pods(namespaces)}
            ready = {k: s for k, s in states.items() if k in wanted and s.ready and s.ip}
            if len(ready) == len(wanted):
                self._check_addresses(ready)
                self.pods.update({wanted[k]: s for k, s in ready.items()})
                return
            hint = pull_rate_limit_hint(
                (s for k, s in states.items() if k in wanted), self._kind_cluster()
            )
            if hint:  # waiting longer does not help: the limit lasts hours
                raise SetupError(hint)
            now = time.monotonic()
            if now > deadline:
                waiting = [
                    f"{k} ({states[k].phase or 'Pending'}: {states[k].message or 'not ready'})"
                    if k in states
                    else f"{k} (not created)"
                    for k in wanted
                    if k not in ready
                ]
                raise SetupError(
                    f"pods not ready after {self.options.pod_ready_timeout:.0f}s: "
                    + "; ".join(waiting)
                    + ". Check the images (--server-image/--probe-image) and the CNI."
                )
            if now - last_note > 10:
                self.progress(f"{self.name}: waiting for pods ({len(ready)}/{len(wanted)} ready)")
                last_note = now
            time.sleep(0.5)

    def _kind_cluster(self) -> str | None:
        info = self.backend.info
        if info.backend == "kind" and info.context.startswith("kind-"):
            return info.context.removeprefix("kind-")
        return None

    # --- probes

    def rendered(self, logical: str) -> str:
        """``frontend/web`` -> ``frontend-k3x9q/web``; other names are returned as they are."""
        ns, sep, name = logical.partition("/")
        return f"{self.renderer.namespace(ns)}/{name}" if sep else logical

    def target(self, probe: Probe) -> ProbeTarget:
        src = self.pods[probe.source]
        if kind_of(probe).to_cluster_dns:  # by name, through the pod's resolver
            return ProbeTarget(probe, src.namespace, src.name, source_ip=src.ip)
        if probe.target == self.layout.external_name:
            if self.external_ip is None:
                raise SetupError(f"{probe.label}: the cluster provides no external host")
            return ProbeTarget(probe, src.namespace, src.name, self.external_ip)
        return ProbeTarget(probe, src.namespace, src.name, self.pods[probe.target].ip)

    def path(self, probe: Probe) -> str:
        """Which kind of path a probe takes: same node, across nodes, to the external host."""
        if kind_of(probe).to_cluster_dns or probe.target == DNS_TARGET:
            return DNS_PATH
        if probe.target == self.layout.external_name:
            return EXTERNAL
        src = getattr(self.pods.get(probe.source), "node", "")
        dst = getattr(self.pods.get(probe.target), "node", "")
        if not src or not dst:
            return ""
        return SAME_NODE if src == dst else CROSS_NODE

    # --- what the oracle sees

    def topology(self, labels: Mapping[str, Mapping[str, str]] | None = None) -> Topology:
        """The deployment as the oracle sees it; ``labels`` (pod key or namespace -> labels)
        instead of the labels set since it was created, to ask what another state allows."""
        labels = self.labels_now if labels is None else labels
        ports = tuple(Port(p.port, p.protocol, p.name) for p in self.layout.server_ports)
        pods = [
            Pod(
                self.renderer.namespace(lp.namespace),
                lp.name,
                ipaddress.ip_address(self.pods[lp.key].ip),
                dict(lp.labels),
                ports + tuple(Port(p.port, p.protocol, p.name) for p in lp.ports),
            )
            for lp in self._labelled(labels)
            if lp.key in self.pods
        ]
        dns = cluster_dns_pod(ipaddress.ip_address(_DNS_POD_IP))
        pods.append(dns)
        namespaces = [
            Namespace(real, dict(labels.get(logical, {})))
            for logical, real in self.renderer.namespace_map.items()
        ]
        namespaces.append(Namespace(dns.namespace))
        externals = []
        if self.external_ip is not None:
            ext_ports = tuple(Port(p) for p in self.layout.external_ports)
            ext_ip = ipaddress.ip_address(self.external_ip)
            externals.append(External(self.layout.external_name, ext_ip, ext_ports))
        return Topology(tuple(namespaces), tuple(pods), tuple(externals))
