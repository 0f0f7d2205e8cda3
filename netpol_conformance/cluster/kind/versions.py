"""Pinned versions for the kind backend: kind itself, its node images, kubectl, CNI plugins.

Node images are pinned by digest, as kind's release notes ask: an image is supported with the
kind release it was built for. The table holds the images published with kind v0.33.0 for the
Kubernetes minors that are still supported upstream; ``--k8s-version`` picks one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from netpol_conformance.cni import KindInstall
from netpol_conformance.errors import UsageError

KIND_VERSION = "v0.33.0"  # the release whose node images are pinned below
KUBECTL_VERSION = "v1.36.4"  # within one minor of every Kubernetes version below
CNI_PLUGINS_VERSION = "v1.9.1"  # the containernetworking/plugins release kind's base image builds
KINDNET_POLICY_SINCE = "v0.24.0"  # kindnet enforces NetworkPolicy from this kind release on


_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``v0.33.0`` / ``1.35`` / ``kind v0.24.0 go1.22 linux/amd64`` -> (0, 33, 0); None if none."""
    match = _VERSION.match(text.strip().removeprefix("kind ").strip())
    if match is None:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def minor_of(version: str) -> str:
    parsed = parse_version(version)
    if parsed is None:
        raise ValueError(f"not a version: {version!r}")
    return f"{parsed[0]}.{parsed[1]}"


def same_line(version: str, pinned: str) -> bool:
    """Whether ``version`` is a patch release of ``pinned``'s minor (v0.33.2 of v0.33.0)."""
    have, want = parse_version(version), parse_version(pinned)
    return have is not None and want is not None and have[:2] == want[:2]


def minors_apart(a: str, b: str) -> int | None:
    """How many minors apart two versions of one major are; None if either is not a version
    or their majors differ."""
    x, y = parse_version(a), parse_version(b)
    if x is None or y is None or x[0] != y[0]:
        return None
    return abs(x[1] - y[1])


def at_least(version: str, minimum: str) -> bool:
    have, want = parse_version(version), parse_version(minimum)
    return have is not None and want is not None and have >= want


@dataclass(frozen=True)
class NodeImage:
    kubernetes: str  # v1.35.8
    ref: str  # kindest/node:v1.35.8@sha256:...

    @property
    def minor(self) -> str:
        return minor_of(self.kubernetes)


NODE_IMAGES: dict[str, NodeImage] = {
    image.minor: image
    for image in (
        NodeImage(
            "v1.37.0",
            "kindest/node:v1.37.0@sha256:"
            "a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5",
        ),
        NodeImage(
            "v1.36.4",
            "kindest/node:v1.36.4@sha256:"
            "099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed",
        ),
        NodeImage(
            "v1.35.8",
            "kindest/node:v1.35.8@sha256:"
            "07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0",
        ),
    )
}
DEFAULT_KUBERNETES = "1.35"  # every CNI with a documented tested range covers it
NIGHTLY_KUBERNETES = ("1.35", "1.36")  # the minors .github/workflows/nightly.yml runs


def node_image(k8s_version: str | None, image: str | None) -> NodeImage:
    """The node image for ``--k8s-version`` / ``--kind-image`` (one of them, or neither)."""
    if image and k8s_version:
        raise UsageError(
            "pass either --k8s-version or --kind-image, not both: --kind-image already decides "
            "the Kubernetes version"
        )
    if image:
        tag = image.split("@", 1)[0].rsplit(":", 1)
        version = tag[1] if len(tag) == 2 and parse_version(tag[1]) else "unknown"
        return NodeImage(version, image)
    wanted = k8s_version or DEFAULT_KUBERNETES
    parsed = parse_version(wanted)
    chosen = NODE_IMAGES.get(f"{parsed[0]}.{parsed[1]}") if parsed else None
    exact_patch = parsed is not None and wanted.count(".") == 2
    if chosen is None or (exact_patch and parse_version(chosen.kubernetes) != parsed):
        known = ", ".join(f"{m} ({i.kubernetes})" for m, i in sorted(NODE_IMAGES.items()))
        raise UsageError(
            f"no pinned kind node image for --k8s-version {wanted}: choose one of {known}, or "
            "pass --kind-image IMAGE"
        )
    return chosen


def cni_support_note(name: str, install: KindInstall, kubernetes: str) -> str | None:
    """A warning when the pinned CNI release is not known to work on this Kubernetes version."""
    if not install.version:
        return None  # kindnet ships with kind's node image: always matched
    release = f"{name} {install.version}"
    if parse_version(kubernetes) is None:
        return f"{release}: the Kubernetes version of --kind-image is unknown; not checked"
    minor = minor_of(kubernetes)
    if install.archived:
        return (
            f"{release} is from {install.released} and its project is archived: it was never "
            f"tested on Kubernetes {minor}; a failure may be {name}'s, not the policies'"
        )
    if not install.tested_kubernetes:
        return None  # upstream documents no range: nothing to check against
    if minor in install.tested_kubernetes:
        return None
    tested = ", ".join(install.tested_kubernetes)
    return (
        f"{release} is tested upstream on Kubernetes {tested}, not {minor}: results on "
        f"{minor} may show the CNI's incompatibility"
    )
