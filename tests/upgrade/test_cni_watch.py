"""Is the CNI Ready again: a DaemonSet's rollout and pods, or a command; and its events."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from netpol_conformance.cluster.rollout import (
    DaemonSetView,
    PodView,
    daemonset_view,
    pod_view,
    rollout_state,
)
from netpol_conformance.cni import image_tag
from netpol_conformance.upgrade.cni_watch import (
    CommandWatch,
    DaemonSetWatch,
    LocalClusterWatch,
    pod_changes,
)

DONE = DaemonSetView(3, 3, 2, 2, 2, 2, "quay.io/calico/node:v3.30.3")
PODS = [PodView("calico-node-a", True, 0), PodView("calico-node-b", True, 1)]


def test_a_complete_rollout_with_every_pod_ready_is_ready() -> None:
    assert rollout_state(DONE, PODS) == (True, "2/2 updated, 2/2 ready, 2/2 available")


def test_without_its_pods_a_rollout_is_judged_by_the_daemonsets_counts() -> None:
    assert rollout_state(DONE) == (True, "2/2 updated, 2/2 ready, 2/2 available")
    assert rollout_state(DONE, [PODS[0]])[0] is False  # given, the pods are checked
    assert rollout_state(DaemonSetView(3, 3, 2, 2, 1, 1))[0] is False


@pytest.mark.parametrize(
    ("ds", "pods", "why"),
    [
        (None, [], "does not exist"),
        (DaemonSetView(4, 3, 2, 2, 2, 2), PODS, "has not seen generation 4"),
        (DaemonSetView(3, 3, 2, 1, 2, 2), PODS, "1/2 updated"),
        (DaemonSetView(3, 3, 0, 0, 0, 0), [], "0/0 updated"),
        (DONE, [*PODS, PodView("calico-node-old", True, 0, terminating=True)], "1 terminating"),
        (DONE, [PODS[0], PodView("calico-node-b", False, 0)], "not Ready: calico-node-b"),
    ],
)
def test_anything_short_of_that_is_not_ready_and_says_why(
    ds: DaemonSetView | None, pods: list[PodView], why: str
) -> None:
    done, state = rollout_state(ds, pods)
    assert not done and why in state


def test_pod_changes_are_events() -> None:
    before = {p.name: p for p in PODS}
    after = {
        "calico-node-a": PodView("calico-node-a", True, 0, terminating=True),
        "calico-node-b": PodView("calico-node-b", False, 2),
        "calico-node-c": PodView("calico-node-c", True, 0),
    }
    events = pod_changes(before, after, 5.0, "DaemonSet kube-system/calico-node")
    assert {(e.agent, e.event) for e in events} == {
        ("calico-node-a", "terminating"),
        ("calico-node-b", "restarted"),
        ("calico-node-b", "not-ready"),
        ("calico-node-c", "created"),
        ("calico-node-c", "ready"),
    }
    gone = pod_changes(after, {}, 6.0, "x")
    assert {(e.agent, e.event, e.at) for e in gone} == {(name, "deleted", 6.0) for name in after}


def test_the_watch_records_what_changed_between_reads_and_the_version() -> None:
    old = DaemonSetView(3, 3, 2, 2, 2, 2, "quay.io/calico/node:v3.29.4")
    rolling = DaemonSetView(4, 4, 2, 1, 1, 1, DONE.image)
    reads = iter(
        [
            (old, PODS),
            (rolling, [PODS[0], PodView("calico-node-b2", False, 0)]),
            (DONE, [PodView("calico-node-a2", True, 0), PodView("calico-node-b2", True, 0)]),
        ]
    )
    clock = iter([10.0, 11.0, 12.0])
    watch = DaemonSetWatch(lambda: next(reads), "kube-system/calico-node", lambda: next(clock))
    assert watch.poll()[0] is True and watch.events() == []  # the first read sets the scene
    assert watch.version() == "v3.29.4"
    assert watch.ready() is False
    assert watch.ready() is True
    assert watch.version() == "v3.30.3"
    events = [(e.at, e.agent, e.event) for e in watch.events()]
    assert (11.0, "kube-system/calico-node", f"image {DONE.image}") in events
    assert (11.0, "calico-node-b", "deleted") in events
    assert (12.0, "calico-node-b2", "ready") in events
    assert (12.0, "calico-node-a", "deleted") in events


def test_a_read_that_fails_is_not_ready_and_not_fatal() -> None:
    def broken() -> tuple[DaemonSetView | None, list[PodView]]:
        raise ConnectionError("the API server restarts")

    watch = DaemonSetWatch(broken, "kube-system/calico-node")
    assert watch.ready() is False and "the API server restarts" in watch.last_state


def test_views_from_the_kubernetes_clients_objects() -> None:
    container = SimpleNamespace(image="quay.io/calico/node:v3.30.3@sha256:abc")
    ds = SimpleNamespace(
        metadata=SimpleNamespace(generation=5),
        status=SimpleNamespace(
            observed_generation=5,
            desired_number_scheduled=3,
            updated_number_scheduled=None,
            number_ready=3,
            number_available=3,
        ),
        spec=SimpleNamespace(
            template=SimpleNamespace(spec=SimpleNamespace(containers=[container]))
        ),
    )
    assert daemonset_view(ds) == DaemonSetView(5, 5, 3, 0, 3, 3, container.image)
    assert image_tag(container.image) == "v3.30.3"
    assert image_tag("registry:5000/calico/node") == ""
    pod = SimpleNamespace(
        metadata=SimpleNamespace(name="calico-node-x", deletion_timestamp="2026-11-25T20:00:00Z"),
        spec=SimpleNamespace(containers=[container]),
        status=SimpleNamespace(
            container_statuses=[
                SimpleNamespace(ready=True, restart_count=2),
                SimpleNamespace(ready=False, restart_count=None),
            ]
        ),
    )
    assert pod_view(pod) == PodView("calico-node-x", False, 2, True, container.image)


def test_a_ready_command_is_ready_on_exit_0_and_its_event_lines_are_kept() -> None:
    line = "kube-router ready 2026-11-25T20:33:02.030Z"
    watch = CommandWatch(f"echo '{line}'; echo other; exit 1")
    assert watch.ready() is False and "other" in watch.last_output
    assert [(e.agent, e.event, e.origin) for e in watch.events()] == [
        ("kube-router", "ready", "ready command")
    ]
    assert CommandWatch("true").ready() is True
    assert CommandWatch("sleep 5", timeout=0.2).ready() is False


def test_the_local_cluster_watch_reads_status_and_the_cni_release_from_info(
    tmp_path: Path,
) -> None:
    script = tmp_path / "local-cluster"
    state = tmp_path / "cni"
    state.write_text('"cni": "kube-router", "cni_version": "v2.1.0"')
    script.write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        "  status) exit 0 ;;\n"
        f'  info) echo "{{$(cat {state})}}" ;;\n'
        "  *) exit 2 ;;\n"
        "esac\n"
    )
    script.chmod(0o755)
    watch = LocalClusterWatch(str(script))
    assert watch.ready() is True and watch.version() == "kube-router v2.1.0"
    state.write_text('"cni": "bridge", "cni_version": null')  # switched off: the plain bridge
    assert watch.version() == "bridge"
    state.write_text("not json")
    assert watch.version() == ""
    assert LocalClusterWatch(str(tmp_path / "missing")).version() == ""
