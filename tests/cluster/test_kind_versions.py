"""The pinned versions: node images by digest, the CNI releases, and the kind configs per CNI."""

from __future__ import annotations

import ipaddress

import pytest

from netpol_conformance.cluster.kind.config import kind_config, kind_config_yaml
from netpol_conformance.cluster.kind.options import KindOptions, kind_options
from netpol_conformance.cluster.kind.versions import (
    DEFAULT_KUBERNETES,
    KIND_VERSION,
    KUBECTL_VERSION,
    NIGHTLY_KUBERNETES,
    NODE_IMAGES,
    at_least,
    cni_support_note,
    minor_of,
    node_image,
    parse_version,
)
from netpol_conformance.cni import PROFILES
from netpol_conformance.errors import UsageError

KIND_CNIS = {n: p.kind for n, p in PROFILES.items() if p.kind is not None}
SERVICE_SUBNET = ipaddress.ip_network("10.96.0.0/16")  # kind's default service subnet


# --- node images -------------------------------------------------------------------------------


def test_node_images_are_pinned_by_digest_for_at_least_two_minors() -> None:
    assert len(NODE_IMAGES) >= 2
    for minor, image in NODE_IMAGES.items():
        assert image.ref.startswith(f"kindest/node:{image.kubernetes}@sha256:")
        assert len(image.ref.split("@sha256:")[1]) == 64
        assert minor_of(image.kubernetes) == minor


def test_default_and_nightly_versions_have_images() -> None:
    assert DEFAULT_KUBERNETES in NODE_IMAGES
    assert set(NIGHTLY_KUBERNETES) <= set(NODE_IMAGES) and len(NIGHTLY_KUBERNETES) == 2


def test_kubectl_is_within_one_minor_of_every_node_image() -> None:
    kubectl = parse_version(KUBECTL_VERSION)
    assert kubectl is not None
    for image in NODE_IMAGES.values():
        server = parse_version(image.kubernetes)
        assert server is not None and abs(server[1] - kubectl[1]) <= 1, image


@pytest.mark.parametrize("wanted", ["1.36", "v1.36", "1.36.4", "v1.36.4"])
def test_k8s_version_spellings(wanted: str) -> None:
    assert node_image(wanted, None) == NODE_IMAGES["1.36"]


@pytest.mark.parametrize("wanted", ["1.29", "1.36.1", "latest", "2"])
def test_unknown_k8s_version_lists_the_choices(wanted: str) -> None:
    with pytest.raises(UsageError) as exc_info:
        node_image(wanted, None)
    msg = str(exc_info.value)
    assert wanted in msg and "--kind-image" in msg
    for minor in NODE_IMAGES:
        assert minor in msg


def test_kind_image_and_k8s_version_together_are_refused() -> None:
    with pytest.raises(UsageError, match="either --k8s-version or --kind-image"):
        node_image("1.36", "kindest/node:v1.36.4")


@pytest.mark.parametrize(
    ("image", "kubernetes"),
    [
        ("kindest/node:v1.34.2", "v1.34.2"),
        ("mirror.example:5000/kindest/node:v1.36.4@sha256:" + "a" * 64, "v1.36.4"),
        ("my/node:dev", "unknown"),
    ],
)
def test_kind_image_version_is_read_from_its_tag(image: str, kubernetes: str) -> None:
    chosen = node_image(None, image)
    assert (chosen.ref, chosen.kubernetes) == (image, kubernetes)


def test_kind_options_read_from_pytest_and_missing_options_read_as_unset() -> None:
    values = {"netpol_k8s_version": "1.37", "kind_bin": "/opt/kind"}

    def opt(name: str) -> object:
        if name not in values:
            raise ValueError(f"no option named {name!r}")  # as pytest's getoption does
        return values[name]

    assert kind_options(opt) == KindOptions(k8s_version="1.37", kind_bin="/opt/kind")
    with pytest.raises(UsageError):
        kind_options(lambda name: "1.2" if name == "netpol_k8s_version" else None)


@pytest.mark.parametrize(
    ("version", "minimum", "expected"),
    [("v0.33.0", "v0.33.0", True), ("v0.24.0", "v0.24.0", True), ("v0.23.0", "v0.24.0", False)],
)
def test_at_least(version: str, minimum: str, expected: bool) -> None:
    assert at_least(version, minimum) is expected


def test_kind_version_output_is_parsed() -> None:
    assert parse_version("kind v0.33.0 go1.26.7 linux/arm64") == (0, 33, 0)
    assert parse_version("garbage") is None
    assert KIND_VERSION == "v0.33.0"


# --- the CNI release table ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(KIND_CNIS))
def test_every_cni_release_is_pinned(name: str) -> None:
    install = KIND_CNIS[name]
    if name == "kindnet":
        assert install.version == "" and not install.disables_default_cni
        return
    assert install.version and install.version in install.source
    assert "latest" not in install.source and "master" not in install.source
    assert install.released[:2] == "20"


@pytest.mark.parametrize("name", sorted(KIND_CNIS))
def test_the_default_kubernetes_is_one_each_cni_is_tested_on(name: str) -> None:
    """Bumping the node images without bumping a CNI whose range it leaves fails here."""
    install = KIND_CNIS[name]
    if install.tested_kubernetes:
        assert DEFAULT_KUBERNETES in install.tested_kubernetes
        assert cni_support_note(name, install, NODE_IMAGES[DEFAULT_KUBERNETES].kubernetes) is None


def test_archived_and_untested_pairs_are_warned_about() -> None:
    weave = KIND_CNIS["weave"]
    assert weave.archived and weave.version == "2.8.1"
    note = cni_support_note("weave", weave, "v1.35.8")
    assert note is not None and "archived" in note and "2021-01" in note
    cilium_note = cni_support_note("cilium", KIND_CNIS["cilium"], "v1.37.0")
    assert cilium_note is not None and "1.32, 1.33, 1.34, 1.35" in cilium_note
    assert cni_support_note("kindnet", KIND_CNIS["kindnet"], "v1.37.0") is None
    assert "unknown" in (cni_support_note("calico", KIND_CNIS["calico"], "unknown") or "")


# --- kind configs, rendered for every CNI and checked against what each CNI documents ------------

# (pod subnet, default CNI disabled) as each CNI's own install documentation states it:
# Calico's manifest defaults CALICO_IPV4POOL_CIDR to 192.168.0.0/16; Flannel's kube-flannel.yml
# sets Network 10.244.0.0/16; Weave's IPALLOC_RANGE defaults to 10.32.0.0/12 and kube-proxy's
# cluster CIDR must match it; Cilium's kind guide keeps kind's 10.244.0.0/16 with
# ipam.mode=kubernetes; kindnet is kind's default CNI on kind's default pod subnet.
DOCUMENTED = {
    "calico": ("192.168.0.0/16", True),
    "cilium": ("10.244.0.0/16", True),
    "flannel": ("10.244.0.0/16", True),
    "weave": ("10.32.0.0/12", True),
    "kindnet": ("10.244.0.0/16", False),
}


def test_every_kind_cni_has_its_documented_facts() -> None:
    assert set(DOCUMENTED) == set(KIND_CNIS)


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_kind_config_matches_what_the_cni_documents(name: str) -> None:
    subnet, disabled = DOCUMENTED[name]
    config = kind_config(KIND_CNIS[name])
    assert config["kind"] == "Cluster" and config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    networking = config["networking"]
    assert networking["podSubnet"] == subnet
    assert networking.get("disableDefaultCNI", False) is disabled
    assert networking["kubeProxyMode"] == "iptables"  # kube-proxy kept for every CNI
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker", "worker"]
    pods = ipaddress.ip_network(subnet)
    assert not pods.overlaps(SERVICE_SUBNET)


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_kind_config_yaml_has_no_anchors(name: str) -> None:
    text = kind_config_yaml(KIND_CNIS[name])
    assert "&" not in text and "*" not in text
