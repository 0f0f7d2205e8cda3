"""Breaker 11: the tutorial's pods spread over two nodes, and every pod's node is recorded."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from netpol_conformance.cluster.base import ClusterInfo
from netpol_conformance.cluster.kube import KubeBackend
from netpol_conformance.cni import profile
from netpol_conformance.plan.layout import load_layout
from netpol_conformance.run.render import HOSTNAME_LABEL, Renderer
from netpol_conformance.sim.cluster import SimulatedCluster
from netpol_conformance.sim.faults import Faults

PLACEMENT = {"a": "npc-worker", "b": "npc-worker2"}


def slots() -> dict[str, str]:
    return {p.key: p.node for p in load_layout().pods}


def test_every_pod_has_a_slot_and_both_slots_are_used() -> None:
    assert set(slots().values()) == {"a", "b"}


def test_the_tutorials_main_paths_are_probed_same_node_and_cross_node() -> None:
    s = slots()
    assert s["frontend/web"] != s["backend/db"]  # step 2's allowed path crosses nodes
    assert s["frontend/admin"] == s["backend/db"]  # its denied neighbour stays on one node
    assert s["frontend/web"] == s["backend/cache"]
    assert s["backend/web"] != s["frontend/web"]


def renderer(placement: dict[str, str]) -> Renderer:
    return Renderer(load_layout(), "sfx01", "run1", "walkthrough", placement=placement)


def test_a_known_placement_becomes_a_node_selector() -> None:
    pods = [o for o in renderer(PLACEMENT).pods() if o["kind"] == "Pod"]
    chosen = {
        f"{p['metadata']['namespace'].rsplit('-', 1)[0]}/{p['metadata']['name']}": p["spec"][
            "nodeSelector"
        ][HOSTNAME_LABEL]
        for p in pods
    }
    assert chosen == {key: PLACEMENT[slot] for key, slot in slots().items()}


def test_without_a_placement_kubernetes_places_the_pods() -> None:
    pods = [o for o in renderer({}).pods() if o["kind"] == "Pod"]
    assert pods and all("nodeSelector" not in p["spec"] for p in pods)


class _Obj:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


class _Core:
    def list_namespaced_pod(self, ns: str, **kw: Any) -> Any:
        status = _Obj(
            container_statuses=[_Obj(ready=True, state=None, name="server")],
            conditions=[],
            pod_ip="10.244.1.5",
            phase="Running",
        )
        pod = _Obj(metadata=_Obj(name="web"), status=status, spec=_Obj(node_name="npc-worker2"))
        return _Obj(items=[pod])


class _Kube(KubeBackend):
    @property
    def core(self) -> Any:
        return _Core()


def test_the_kube_backend_records_each_pods_node() -> None:
    backend = _Kube(ClusterInfo("kind", "calico"), configuration=client.Configuration())
    (state,) = backend.pods(["frontend-x"])
    assert (state.name, state.ip, state.node) == ("web", "10.244.1.5", "npc-worker2")


def test_the_simulated_cluster_spreads_pods_over_two_nodes() -> None:
    sim = SimulatedCluster(profile("calico"), Faults(), 0.0, 2.0)
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}
    sim.apply([ns])
    for name in ("a", "b", "c"):
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"namespace": "x", "name": name, "labels": {}},
            "spec": {"containers": []},
        }
        sim.apply([pod])
    nodes = [p.node for p in sorted(sim.pods(["x"]), key=lambda p: p.name)]
    assert nodes[0] != nodes[1] and nodes[0] == nodes[2]
