"""An in-memory cluster behind the backend interface, answering probes from the oracle.

It stores objects, gives pods addresses, and runs the probe scripts the suite sends to a pod:
each ``curl``, ``socat`` (UDP and SCTP) and ``dig`` line is answered the way the real tool
would answer it (exit code and message), from the oracle's verdict on the policies in force. A
CNI profile decides whether policies are enforced and whether a deny drops or rejects; faults
make it misbehave. Its nodes carry SCTP unless made with ``sctp=False`` (a kernel without the
module: every SCTP socket fails, as socat says it).
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from netpol_conformance.cluster.base import Backend, ClusterInfo, ExecResult, PodState
from netpol_conformance.cluster.policy_api import PolicyApi
from netpol_conformance.cni import DROP, REJECT, CniProfile
from netpol_conformance.errors import ManifestError, SetupError
from netpol_conformance.model.topology import (
    External,
    Namespace,
    Pod,
    Port,
    Topology,
    cluster_dns_pod,
)
from netpol_conformance.policy.model import NetworkPolicy
from netpol_conformance.policy.oracle import Oracle, selects
from netpol_conformance.policy.parse import parse_policy
from netpol_conformance.probe.batch import parse_batch_script
from netpol_conformance.probe.commands import sctp_destination, udp_destination
from netpol_conformance.probe.curl_group import joined_output
from netpol_conformance.sim.faults import Faults
from netpol_conformance.sim.policy_api import SimulatedPolicyApi

POD_CIDR = ipaddress.ip_network("10.244.0.0/16")
NODE_IP = "172.18.0.2"
SIM_NODES = ("sim-worker", "sim-worker2")
EXTERNAL_IP = "172.18.0.100"
DNS_POD_IP = "10.244.0.2"
KUBERNETES_SERVICE_IP = "10.96.0.1"
DNS_TIMED_OUT = ";; communications error to 10.96.0.10#53: timed out|;; no servers could be reached"
DNS_TCP_TIMED_OUT = (
    ";; Connection to 10.96.0.10#53(10.96.0.10) for {name} failed: timed out.|"
    ";; no servers could be reached"
)
CLUSTER_NAMES = {"kubernetes.default.svc.cluster.local": KUBERNETES_SERVICE_IP}


class SimulatedCluster(Backend):
    def __init__(
        self,
        profile: CniProfile,
        faults: Faults | None = None,
        enforcement_delay: float = 0.05,
        probe_timeout: float = 2.0,
        external_ports: tuple[int, ...] = (80, 5432),
        sctp: bool = True,
    ) -> None:
        self.profile = profile
        self.sctp = sctp  # whether the nodes' kernel carries SCTP
        self.faults = faults or Faults()
        self.delay = max(enforcement_delay, self.faults.slow_enforcement)
        self.probe_timeout = probe_timeout
        self.external_ports = external_ports
        self.info = ClusterInfo(
            backend="simulated",
            cni=profile.name,
            external_ip=EXTERNAL_IP,
            kubernetes_version="simulated",
            cni_version="simulated",
        )
        self._lock = threading.Lock()
        self._namespaces: dict[str, dict[str, Any]] = {}
        self._pods: dict[tuple[str, str], dict[str, Any]] = {}
        self._policies: dict[tuple[str, str], list[tuple[float, dict[str, Any] | None]]] = {}
        self._next_ip = 10
        self._generation = 0  # bumped whenever namespaces, pods or labels change
        # stale-labels: (kind, namespace, name) -> the labels the enforcer still sees
        self._seen_labels: dict[tuple[str, str, str], dict[str, str]] = {}
        self._network_cache: tuple[object, tuple[Topology, Oracle]] | None = None
        self._faulted: list[NetworkPolicy] = []  # the policies in force, as misread
        self._source_oracles: dict[str, Oracle] = {}  # named-port-on-source: per client
        self._policy_api: SimulatedPolicyApi | None = None

    # --- objects

    def apply(self, objects: Sequence[Mapping[str, Any]]) -> None:
        now = time.monotonic()
        with self._lock:
            for obj in objects:
                kind, meta = obj.get("kind"), obj.get("metadata", {})
                ns, name = meta.get("namespace", ""), meta["name"]
                if kind == "Namespace":
                    self._namespaces[name] = copy.deepcopy(dict(obj))
                    self._generation += 1
                elif kind not in ("Pod", "ConfigMap", "NetworkPolicy"):
                    raise ValueError(f"the simulated cluster does not store {kind}")
                elif ns not in self._namespaces:
                    raise ValueError(f'namespaces "{ns}" not found')
                elif kind == "Pod":
                    self._add_pod(dict(obj))
                elif kind == "NetworkPolicy":
                    _, problems = parse_policy(obj, f"apply {ns}/{name}")
                    if problems:
                        raise ManifestError(problems)
                    self._policies.setdefault((ns, name), []).append(
                        (now, copy.deepcopy(dict(obj)))
                    )
                    self._see_labels()

    def _add_pod(self, obj: dict[str, Any]) -> None:
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        if key in self._pods:
            return
        host = bool(obj.get("spec", {}).get("hostNetwork"))
        ip = NODE_IP if host else str(POD_CIDR.network_address + self._next_ip)
        self._next_ip += 0 if host else 1
        # Two nodes, pods placed in turn, so that reports see same-node and cross-node paths.
        node = SIM_NODES[len(self._pods) % len(SIM_NODES)]
        under_policy = any(  # a policy of its namespace exists
            v[-1][1] is not None for (ns, _), v in self._policies.items() if ns == key[0]
        )
        self._pods[key] = {
            "obj": copy.deepcopy(obj),
            "ip": ip,
            "host": host,
            "node": node,
            "created": time.monotonic(),
            "under_policy": under_policy,  # new-pod-open
        }
        self._generation += 1

    def label(
        self,
        kind: str,
        namespace: str,
        name: str,
        set_: Mapping[str, str],
        remove: Sequence[str] = (),
    ) -> None:
        with self._lock:
            if kind == "Namespace":
                obj = self._namespaces.get(name)
            elif kind == "Pod":
                obj = (self._pods.get((namespace, name)) or {}).get("obj")
            else:
                raise ValueError(f"the simulated cluster does not label {kind}")
            if obj is None:
                raise SetupError(f"cannot label {kind} {namespace}/{name}: it does not exist")
            meta = obj.setdefault("metadata", {})
            before = dict(meta.get("labels") or {})
            if self.faults.stale_labels:
                self._seen_labels.setdefault((kind, namespace, name), before)
            labels = {k: v for k, v in before.items() if k not in remove}
            meta["labels"] = {**labels, **set_}
            self._generation += 1

    def delete(self, objects: Sequence[Mapping[str, Any]]) -> None:
        now = time.monotonic()
        with self._lock:
            for obj in objects:
                meta = obj.get("metadata", {})
                key = (meta.get("namespace", ""), meta["name"])
                if obj.get("kind") == "NetworkPolicy" and key in self._policies:
                    self._policies[key].append((now, None))
                    self._see_labels()
                elif obj.get("kind") == "Pod":
                    self._pods.pop(key, None)
                    self._generation += 1
                elif obj.get("kind") == "Namespace":
                    self._drop_namespace(meta["name"])

    def _see_labels(self) -> None:
        """A policy change: the enforcer recomputes, and sees labels as they are now."""
        if self._seen_labels:
            self._seen_labels.clear()
            self._generation += 1

    def _drop_namespace(self, name: str) -> None:
        self._namespaces.pop(name, None)
        self._generation += 1
        for key in [k for k in self._pods if k[0] == name]:
            del self._pods[key]
        for key in [k for k in self._policies if k[0] == name]:
            del self._policies[key]

    def delete_namespaces(self, label_selector: str) -> list[str]:
        wanted = dict(part.split("=", 1) for part in label_selector.split(",") if part)
        with self._lock:
            names = [
                n
                for n, obj in self._namespaces.items()
                if all(obj["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
            ]
            for n in names:
                self._drop_namespace(n)
        return names

    def pods(self, namespaces: Sequence[str]) -> list[PodState]:
        with self._lock:
            return [
                PodState(ns, name, p["ip"], ready=True, phase="Running", node=p["node"])
                for (ns, name), p in self._pods.items()
                if ns in namespaces
            ]

    def has_namespace(self, name: str) -> bool:
        with self._lock:
            return name in self._namespaces

    def policy_api(self) -> PolicyApi:
        with self._lock:
            if self._policy_api is None:
                self._policy_api = SimulatedPolicyApi(self)
            return self._policy_api

    def network_policies(self, namespace: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(versions[-1][1])
                for (ns, _), versions in sorted(self._policies.items())
                if ns == namespace and versions[-1][1] is not None
            ]

    def cni_components(self) -> list[str]:
        p = self.profile
        agent = p.kind.daemonset[1] if p.kind and p.kind.manifest else p.name
        return ["coredns-sim01", *([f"{agent}-sim01"] if p.component_pattern else [])]

    def namespace_count(self) -> int:
        with self._lock:
            return len(self._namespaces)

    # --- the network

    def _topology(self) -> Topology:
        seen = self._seen_labels
        namespaces = [
            Namespace(n, seen.get(("Namespace", "", n), dict(o["metadata"].get("labels") or {})))
            for n, o in self._namespaces.items()
        ]
        namespaces.append(Namespace("kube-system"))
        pods = [cluster_dns_pod(ipaddress.ip_address(DNS_POD_IP), "coredns-sim01")]
        for (ns, name), p in self._pods.items():
            ports = tuple(
                Port(cp["containerPort"], cp.get("protocol", "TCP"), cp.get("name"))
                for c in p["obj"]["spec"]["containers"]
                for cp in c.get("ports") or []
            )
            labels = seen.get(("Pod", ns, name), dict(p["obj"]["metadata"].get("labels") or {}))
            # A host-networked pod is not a pod for policies: no selector can reach it.
            pod_ns = "<host-network>" if p["host"] else ns
            pods.append(Pod(pod_ns, name, ipaddress.ip_address(p["ip"]), labels, ports))
        ports = tuple(Port(p) for p in self.external_ports)
        ext = External("external-host", ipaddress.ip_address(EXTERNAL_IP), ports)
        return Topology(tuple(namespaces), tuple(pods), (ext,))

    def _network(self) -> tuple[Topology, Oracle]:
        """The topology and the oracle of the policies in force now (cached while they stay
        the same: a probe matrix asks many times a second)."""
        now = time.monotonic()
        in_force: list[tuple[tuple[str, str], int]] = []
        expire = self.faults.rules_expire
        for key, versions in self._policies.items():
            current = None
            for i, (t, d) in enumerate(versions):
                if t + self.delay <= now:
                    current = i if d is not None else None
                    if current is not None and expire and t + self.delay + expire <= now:
                        current = None  # the fault: its rules vanished
            if current is not None:
                in_force.append((key, current))
        enforcing = self.profile.enforces and self.faults.enforcing_at(now)
        cache_key = (self._generation, tuple(in_force), enforcing, self.faults)  # faults may change
        if self._network_cache is not None and self._network_cache[0] == cache_key:
            return self._network_cache[1]
        policies = []
        if enforcing:
            for key, i in in_force:
                doc = self._policies[key][i][1]
                assert doc is not None
                policies.append(parse_policy(doc, "stored")[0])
        topo = self._topology()
        faulted = self.faults.apply(policies)
        network = (topo, Oracle(topo, faulted))
        self._network_cache = (cache_key, network)
        self._faulted = faulted
        self._source_oracles = {}
        return network

    def _verdict(
        self, oracle: Oracle, topo: Topology, src: Pod, address: str, port: int, protocol: str
    ) -> bool | None:
        """Allowed, denied, or None when nothing has that address."""
        dst = next((e for e in topo.endpoints if str(e.ip) == address and e is not src), None)
        if dst is None:
            return None
        if self._new_and_open(dst):
            return True
        if self.faults.named_port_on_source:
            oracle = self._source_oracle(topo, src)
        allowed = oracle.explain(src.key, dst.key, port, protocol).allowed
        if allowed and self.faults.except_overrides_allow:
            allowed = not self._excepted(src, dst)
        return allowed

    def _new_and_open(self, endpoint: Pod | External) -> bool:
        """new-pod-open: a pod created while policies of its namespace existed can be reached
        for a while (its rules are not there yet)."""
        if not self.faults.new_pod_open or not isinstance(endpoint, Pod):
            return False
        entry = self._pods.get((endpoint.namespace, endpoint.name))
        if entry is None or not entry["under_policy"]:
            return False
        return time.monotonic() - entry["created"] < self.faults.new_pod_open

    def _source_oracle(self, topo: Topology, src: Pod) -> Oracle:
        """named-port-on-source: every pod's named ports read as the client's own."""
        if src.key not in self._source_oracles:
            named = tuple(p for p in src.ports if p.name)
            pods = tuple(
                dataclasses.replace(p, ports=tuple(q for q in p.ports if not q.name) + named)
                for p in topo.pods
            )
            variant = dataclasses.replace(topo, pods=pods)
            self._source_oracles[src.key] = Oracle(variant, self._faulted)
        return self._source_oracles[src.key]

    def _excepted(self, src: Pod, dst: Pod | External) -> bool:
        """except-overrides-allow: an address excepted by any ipBlock of a policy that selects
        the pod is denied, whatever else allows it."""
        for policy in self._faulted:
            for subject, peer_ip, rules in (
                (dst, src.ip, policy.ingress),
                (src, dst.ip, policy.egress),
            ):
                if not isinstance(subject, Pod) or not selects(policy, subject):
                    continue
                for rule in rules:
                    for peer in rule.peers:
                        block = peer.ip_block
                        if block and any(peer_ip in e for e in block.except_):
                            return True
        return False

    def _fate(
        self, src: Pod, oracle: Oracle, topo: Topology, host: str, port: int, protocol: str
    ) -> str:
        """What becomes of a connection from ``src`` to ``host:port`` over ``protocol``:
        ``through`` (a server answered), ``refused`` (nothing listens, or a rejecting deny) or
        ``dropped`` (a dropping deny, or an address nothing answers on)."""
        if host in ("127.0.0.1", "localhost", str(src.ip)):
            listening = any(p.port == port and p.protocol == protocol for p in src.ports)
            return THROUGH if listening else REFUSED
        allowed = self._verdict(oracle, topo, src, host, port, protocol)
        if allowed is None:
            return DROPPED
        if allowed:
            target = next(e for e in topo.endpoints if str(e.ip) == host)
            serving = any(p.port == port and p.protocol == protocol for p in target.ports)
            return THROUGH if serving else REFUSED
        style = REJECT if self.faults.reject_instead_of_drop else self.profile.deny_style
        return DROPPED if style == DROP else REFUSED

    def _curl(self, src: Pod, oracle: Oracle, topo: Topology, url: str) -> tuple[int, str]:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 80
        return {
            THROUGH: (0, ""),
            REFUSED: (7, _refused(host, port)),
            DROPPED: (28, _timed_out(host, port, self.probe_timeout)),
        }[self._fate(src, oracle, topo, host, port, "TCP")]

    def _udp(
        self, src: Pod, oracle: Oracle, topo: Topology, host: str, port: int
    ) -> tuple[int, str]:
        """What ``echo ... | socat ... UDP:host:port`` prints: the reply, a refusal, or nothing."""
        return {
            THROUGH: (0, _UDP_REPLY),
            REFUSED: (1, _udp_refused()),
            DROPPED: (0, ""),
        }[self._fate(src, oracle, topo, host, port, "UDP")]

    def _sctp(
        self, src: Pod, oracle: Oracle, topo: Topology, host: str, port: int
    ) -> tuple[int, str]:
        """What ``socat -u SCTP-CONNECT:host:port,connect-timeout=T STDOUT`` prints: the
        server's greeting, an ABORT's refusal, a timeout, or no SCTP in the kernel at all."""
        if not self.sctp:
            return 1, _socat_error("socket(2, 1, 132): Protocol not supported")
        return {
            THROUGH: (0, _sctp_greeting(port)),
            REFUSED: (1, _sctp_refused(host, port)),
            DROPPED: (1, _sctp_timed_out(host, port)),
        }[self._fate(src, oracle, topo, host, port, "SCTP")]

    def _dig(
        self, src: Pod, oracle: Oracle, topo: Topology, name: str, tcp: bool
    ) -> tuple[int, str]:
        """What ``dig [+tcp] +noedns +nocmd +noquestion +nostats NAME`` prints through the
        cluster DNS."""
        reachable = self._verdict(oracle, topo, src, DNS_POD_IP, 53, "TCP" if tcp else "UDP")
        if self.faults.block_dns or not reachable or (tcp and self.faults.dns_tcp_blocked):
            return 9, DNS_TCP_TIMED_OUT.format(name=name) if tcp else DNS_TIMED_OUT
        status, answer = ("NXDOMAIN", "") if name not in CLUSTER_NAMES else ("NOERROR", "1")
        header = (
            f";; Got answer:|;; ->>HEADER<<- opcode: QUERY, status: {status}, id: 4242|"
            f";; flags: qr aa rd; QUERY: 1, ANSWER: {answer or 0}, AUTHORITY: 0, ADDITIONAL: 1|"
        )
        if not answer:
            return 0, header
        return 0, f"{header}|;; ANSWER SECTION:|{name}.\t30\tIN\tA\t{CLUSTER_NAMES[name]}|"

    def _tool(self, src: Pod, oracle: Oracle, topo: Topology, argv: list[str]) -> tuple[int, str]:
        if argv[0] == "curl":
            return self._curl(src, oracle, topo, argv[-1])
        if argv[0] == "dig":
            return self._dig(src, oracle, topo, argv[-1], "+tcp" in argv)
        if udp := udp_destination(argv):
            return self._udp(src, oracle, topo, *udp)
        if sctp := sctp_destination(argv):
            return self._sctp(src, oracle, topo, *sctp)
        return 127, f"sh: {argv[0]}: not found"

    def exec(
        self, namespace: str, pod: str, container: str, argv: Sequence[str], timeout: float
    ) -> ExecResult:
        with self._lock:
            entry = self._pods.get((namespace, pod))
            if entry is None:
                return ExecResult(1, "", error=f'pods "{pod}" not found in namespace {namespace}')
            containers = {c["name"] for c in entry["obj"]["spec"]["containers"]}
            if container not in containers:
                return ExecResult(1, "", error=f"container {container} is not valid for pod {pod}")
            topo, oracle = self._network()
        src = next(p for p in topo.pods if p.name == pod and str(p.ip) == entry["ip"])
        if argv and (argv[0] in ("curl", "dig") or sctp_destination(argv)):
            rc, out = self._tool(src, oracle, topo, list(argv))
            return ExecResult(rc, "", out.replace("|", "\n"))
        if list(argv[:2]) != ["sh", "-c"]:
            return ExecResult(127, "", f"exec: {argv[0]!r}: not supported by the simulated cluster")
        try:
            batch = parse_batch_script(argv[2])
        except ValueError as exc:
            return ExecResult(2, "", f"sh: the simulated cluster runs probe batches only: {exc}")
        answers = [
            (rc, out.replace("|", "\n"))
            for rc, out in (self._tool(src, oracle, topo, list(tool)) for tool in batch.argvs)
        ]
        groups = batch.groups
        grouped = {i for g in groups for i in g}
        lines = [
            batch.result_line(index, *answer)
            for index, answer in enumerate(answers)
            if index not in grouped
        ]
        for g in groups:
            transfers = [(batch.argvs[i][-1], *answers[i]) for i in g]
            rc = next((code for _, code, _ in transfers if code), 0)
            lines.append(batch.group_line(g, rc, joined_output(transfers)))
        return ExecResult(0, "\n".join(lines) + "\n")


_UDP_REPLY = "n"  # socat ... readbytes=1 prints the first byte of the server's reply


def _refused(host: str, port: int) -> str:
    """curl -sS -v's output for a refused connection (as curl 7.88 prints it)."""
    failed = f"Failed to connect to {host} port {port} after 0 ms: Couldn't connect to server"
    return (
        f"*   Trying {host}:{port}...|* connect to {host} port {port} failed: Connection refused|"
        f"* {failed}|* Closing connection 0|curl: (7) {failed}"
    )


def _timed_out(host: str, port: int, timeout: float) -> str:
    message = f"Connection timed out after {int(timeout * 1000) + 1} milliseconds"
    return f"*   Trying {host}:{port}...|* {message}|* Closing connection 0|curl: (28) {message}"


THROUGH, REFUSED, DROPPED = "through", "refused", "dropped"  # a connection's fate (_fate)


def _socat_error(message: str) -> str:
    return f"2025/01/01 00:00:00 socat[1] E {message}"


def _udp_refused() -> str:
    return _socat_error("read(5, 0x5555, 8192): Connection refused")


def _sctp_greeting(port: int) -> str:
    """The catalogue's sctp-server greets each association with one line."""
    return f"netpol-conformance sctp {port}"


def _sctp_refused(host: str, port: int) -> str:
    return _socat_error(f"connect(5, AF=2 {host}:{port}, 16): Connection refused")


def _sctp_timed_out(host: str, port: int) -> str:
    return _socat_error(f"connecting to AF=2 {host}:{port}: Connection timed out")
