"""Rendering the tutorial for one isolated run: names, selectors, ipBlocks, labels, images."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from netpol_conformance.cluster.base import MANAGED_LABEL, RUN_LABEL
from netpol_conformance.model.topology import NAMESPACE_NAME_LABEL
from netpol_conformance.plan.catalogue import S2, S3, S4
from netpol_conformance.plan.layout import Layout, load_layout
from netpol_conformance.run.render import DEPLOYMENT_LABEL, Renderer, new_suffix

SFX = "k3x9q"


@pytest.fixture(scope="module")
def layout() -> Layout:
    return load_layout()


def renderer(layout: Layout, **kw: Any) -> Renderer:
    args: dict[str, Any] = {"suffix": SFX, "run_id": "run1", "deployment": "gw0"}
    args.update(kw)
    return Renderer(layout, **args)


def labels_of(obj: dict[str, Any]) -> dict[str, str]:
    return obj["metadata"]["labels"]


def test_suffixes_and_mapping_back(layout: Layout) -> None:
    r = renderer(layout)
    assert r.namespace_map == {
        "frontend": f"frontend-{SFX}",
        "backend": f"backend-{SFX}",
        "production": f"production-{SFX}",
    }
    for logical, real in r.namespace_map.items():
        assert r.namespace(logical) == real
        assert r.logical_namespace(real) == logical
    # Names that are not the tutorial's are left alone both ways.
    assert r.namespace("kube-system") == "kube-system"
    assert r.logical_namespace("kube-system") == "kube-system"


def test_new_suffixes_are_valid_and_distinct() -> None:
    suffixes = {new_suffix() for _ in range(200)}
    assert len(suffixes) > 190
    assert all(len(s) == 5 and s.isalnum() and s == s.lower() for s in suffixes)


def test_step2_namespace_selector_is_rewritten(layout: Layout) -> None:
    (policy,) = renderer(layout).policies([S2])
    assert policy["metadata"]["namespace"] == f"backend-{SFX}"
    peer = policy["spec"]["ingress"][0]["from"][0]
    assert peer["namespaceSelector"]["matchLabels"] == {NAMESPACE_NAME_LABEL: f"frontend-{SFX}"}
    assert peer["podSelector"]["matchLabels"] == {"app": "web"}  # pod labels are not renamed


def test_selectors_of_other_namespaces_are_kept(layout: Layout) -> None:
    docs = renderer(layout).policies([S3])
    dns = next(d for d in docs if d["metadata"]["name"] == "allow-dns-egress")
    selector = dns["spec"]["egress"][0]["to"][0]["namespaceSelector"]
    assert selector["matchLabels"] == {NAMESPACE_NAME_LABEL: "kube-system"}


def test_match_expressions_are_rewritten(layout: Layout) -> None:
    doc = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": "backend"},
        "spec": {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchExpressions": [
                                    {
                                        "key": NAMESPACE_NAME_LABEL,
                                        "operator": "In",
                                        "values": ["frontend", "kube-system"],
                                    },
                                    {
                                        "key": NAMESPACE_NAME_LABEL,
                                        "operator": "NotIn",
                                        "values": ["production"],
                                    },
                                    {"key": "team", "operator": "In", "values": ["frontend"]},
                                ]
                            }
                        }
                    ]
                }
            ],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {NAMESPACE_NAME_LABEL: "backend", "x": "frontend"}
                            }
                        }
                    ]
                }
            ],
        },
    }
    original = copy.deepcopy(doc)
    out = renderer(layout).policy(doc)
    assert doc == original, "rendering must not modify the manifest it was given"
    exprs = out["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"]
    assert exprs[0]["values"] == [f"frontend-{SFX}", "kube-system"]
    assert exprs[1]["values"] == [f"production-{SFX}"]
    assert exprs[2]["values"] == ["frontend"]  # another key: a value, not a namespace name
    labels = out["spec"]["egress"][0]["to"][0]["namespaceSelector"]["matchLabels"]
    assert labels == {NAMESPACE_NAME_LABEL: f"backend-{SFX}", "x": "frontend"}


@pytest.mark.parametrize(
    ("external_ip", "cidr"),
    [
        ("172.18.0.100", "172.18.0.100/32"),
        ("fd00:10:1::50", "fd00:10:1::50/128"),
        (None, "10.0.1.50/32"),  # no external host: the tutorial's literal placeholder stays
    ],
)
def test_step4_ip_block_points_at_the_external_host(
    layout: Layout, external_ip: str | None, cidr: str
) -> None:
    (policy,) = renderer(layout, external_ip=external_ip).policies([S4])
    block = policy["spec"]["egress"][0]["to"][0]["ipBlock"]
    assert block == {"cidr": cidr}


def test_other_ip_blocks_are_kept(layout: Layout) -> None:
    doc = {
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": "backend"},
        "spec": {
            "podSelector": {},
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.0.1.50/32"]}}]}],
        },
    }
    out = renderer(layout, external_ip="172.18.0.100").policy(doc)
    assert out["spec"]["egress"][0]["to"][0]["ipBlock"] == {
        "cidr": "10.0.0.0/8",
        "except": ["10.0.1.50/32"],
    }


@pytest.mark.parametrize(
    ("external", "block", "rendered"),
    [
        (
            "172.18.0.100",
            {"cidr": "10.0.1.0/24", "except": ["10.0.1.50/32"]},
            {"cidr": "172.18.0.0/24", "except": ["172.18.0.100/32"]},
        ),
        ("198.19.0.10", {"cidr": "10.0.1.48/29"}, {"cidr": "198.19.0.8/29"}),
        ("172.18.0.100", {"cidr": "10.0.2.0/24"}, {"cidr": "10.0.2.0/24"}),  # not around it
    ],
)
def test_a_small_network_around_the_placeholder_follows_the_external_host(
    layout: Layout, external: str, block: dict[str, Any], rendered: dict[str, Any]
) -> None:
    doc = {
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": "backend"},
        "spec": {"podSelector": {}, "egress": [{"to": [{"ipBlock": block}]}]},
    }
    out = renderer(layout, external_ip=external).policy(doc)
    assert out["spec"]["egress"][0]["to"][0]["ipBlock"] == rendered


def test_every_object_carries_the_managed_labels(layout: Layout) -> None:
    r = renderer(layout)
    objects = [*r.namespaces(), *r.pods(), *r.policies([S2, S3, S4]), r.host_network_pod()]
    assert len(objects) == 3 + 3 + len(layout.pods) + 4 + 1
    for obj in objects:
        labels = labels_of(obj)
        assert labels[MANAGED_LABEL] == "true", obj["metadata"]
        assert labels[RUN_LABEL] == "run1"
        assert labels[DEPLOYMENT_LABEL] == "gw0"


def test_namespaces_know_their_logical_name(layout: Layout) -> None:
    r = renderer(layout)
    by_name = {ns["metadata"]["name"]: ns for ns in r.namespaces()}
    assert set(by_name) == set(r.namespace_map.values())
    for logical, real in r.namespace_map.items():
        assert labels_of(by_name[real])["netpol-conformance.io/logical"] == logical


def test_pods_keep_their_tutorial_labels_and_names(layout: Layout) -> None:
    r = renderer(layout)
    pods = [o for o in r.pods() if o["kind"] == "Pod"]
    assert {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods} == {
        (r.namespace(lp.namespace), lp.name) for lp in layout.pods
    }
    db = next(p for p in pods if p["metadata"]["name"] == "db")
    assert labels_of(db)["app"] == "db"
    configs = [o for o in r.pods() if o["kind"] == "ConfigMap"]
    assert sorted(c["metadata"]["namespace"] for c in configs) == sorted(r.namespace_map.values())


def test_images_and_pull_policy(layout: Layout) -> None:
    r = renderer(
        layout,
        images={"server": "registry.local/nginx:1", "probe": "registry.local/netshoot:2"},
        pull_policy="Never",
    )
    pods = [o for o in r.pods() if o["kind"] == "Pod"] + [r.host_network_pod()]
    for pod in pods:
        for c in pod["spec"]["containers"]:
            assert (
                c["image"]
                == {
                    "server": "registry.local/nginx:1",
                    "probe": "registry.local/netshoot:2",
                }[c["name"]]
            )
            assert c["imagePullPolicy"] == "Never"


def test_default_images_come_from_the_template(layout: Layout) -> None:
    r = renderer(layout)
    pods = [o for o in r.pods() if o["kind"] == "Pod"] + [r.host_network_pod()]
    template = {c["name"]: c["image"] for c in layout.pod_template["spec"]["containers"]}
    assert layout.images == template  # one pin per container, in pod.yaml only
    for pod in pods:
        for c in pod["spec"]["containers"]:
            assert c["image"] == template[c["name"]]
            assert "imagePullPolicy" not in c


def test_rendering_does_not_touch_the_layout(layout: Layout) -> None:
    before = copy.deepcopy(layout.pod_template)
    renderer(layout, images={"server": "x"}, pull_policy="Always").pods()
    assert layout.pod_template == before


def test_host_network_pod(layout: Layout) -> None:
    pod = renderer(layout).host_network_pod("backend")
    assert pod["spec"]["hostNetwork"] is True
    assert pod["metadata"]["namespace"] == f"backend-{SFX}"
