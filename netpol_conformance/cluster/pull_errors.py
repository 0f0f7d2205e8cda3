"""Recognise a registry's pull rate limit in pod states and command output, and say the fix.

Docker Hub answers anonymous pulls over its limit with ``429 Too Many Requests`` and the code
``toomanyrequests``. The kubelet shows that in a waiting container's ``ErrImagePull`` message
(``ImagePullBackOff`` follows, usually with the message of the failed pull). Without a hint the
suite would only say that pods did not become Ready.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from netpol_conformance.cluster.base import PodState

PULL_REASONS = ("ErrImagePull", "ImagePullBackOff")
_RATE_LIMIT = re.compile(r"toomanyrequests|429 too many requests|pull rate limit", re.I)
_IMAGE = re.compile(r'image "([^"]+)"')


def mentions_rate_limit(text: str) -> bool:
    return bool(_RATE_LIMIT.search(text))


def pull_rate_limit_hint(pods: Iterable[PodState], kind_cluster: str | None = None) -> str | None:
    """One line naming the rate-limited pods and images and the ways out; None if none is.

    ``kind_cluster`` names the kind cluster the pods run in, for the fix that pre-loads the
    images into its nodes; other clusters get the registry-side fixes.
    """
    limited = [
        p
        for p in pods
        if not p.ready
        and any(r in p.message for r in PULL_REASONS)
        and mentions_rate_limit(p.message)
    ]
    if not limited:
        return None
    images = sorted({m for p in limited for m in _IMAGE.findall(p.message)})
    names = ", ".join(f"{p.namespace}/{p.name}" for p in limited)
    if kind_cluster is not None:
        fix = (
            "`docker login`, then pre-load each image with `docker pull IMAGE && kind load "
            f"docker-image IMAGE --name {kind_cluster}` (kind's nodes do not use your Docker "
            "login)"
        )
    else:
        fix = "give the nodes registry credentials (or an imagePullSecret), pre-pull the images"
    return (
        f"pods {names} cannot pull {', '.join(images) or 'their images'}: the registry's pull "
        f"rate limit was hit (429 toomanyrequests, Docker Hub's anonymous limit). Fix: {fix}, "
        "or pass --server-image/--probe-image from a mirror"
    )
