"""Breaker 12: a pull rate limit is named, with the fix, instead of "pods not ready"."""

from __future__ import annotations

from netpol_conformance.cluster.base import PodState
from netpol_conformance.cluster.pull_errors import mentions_rate_limit, pull_rate_limit_hint

LIMITED = (
    'server: ErrImagePull (failed to pull and unpack image "docker.io/library/nginx:1.27.5": '
    "failed to copy: httpReadSeeker: failed open: unexpected status code "
    "https://registry-1.docker.io/v2/library/nginx/manifests/sha256:abc: 429 Too Many Requests - "
    "Server message: toomanyrequests: You have reached your unauthenticated pull rate limit.)"
)


def pod(name: str, message: str, ready: bool = False) -> PodState:
    return PodState("frontend-x1", name, "", ready, "Pending", message)


def test_a_rate_limited_pull_is_named_with_the_fix() -> None:
    hint = pull_rate_limit_hint([pod("web", LIMITED), pod("db", "")], "npc")
    assert hint is not None
    assert "frontend-x1/web" in hint and "frontend-x1/db" not in hint
    assert "docker.io/library/nginx:1.27.5" in hint
    assert "docker login" in hint
    assert "kind load docker-image IMAGE --name npc" in hint
    assert "--server-image/--probe-image" in hint


def test_back_off_with_the_limit_in_its_message_counts_too() -> None:
    message = (
        'probe: ImagePullBackOff (Back-off pulling image "nicolaka/netshoot:v0.13": '
        "toomanyrequests)"
    )
    hint = pull_rate_limit_hint([pod("web", message)])
    assert hint is not None and "nicolaka/netshoot:v0.13" in hint


def test_other_pull_errors_and_ready_pods_give_no_hint() -> None:
    not_found = 'server: ErrImagePull (rpc error: code = NotFound desc = "nginx:9.9" not found)'
    assert pull_rate_limit_hint([pod("web", not_found)]) is None
    assert pull_rate_limit_hint([pod("web", "server: ContainerCreating")]) is None
    assert pull_rate_limit_hint([pod("web", LIMITED, ready=True)]) is None
    assert pull_rate_limit_hint([]) is None


def test_mentions_rate_limit() -> None:
    assert mentions_rate_limit("Error response from daemon: toomanyrequests: You have reached")
    assert mentions_rate_limit("429 Too Many Requests")
    assert not mentions_rate_limit("manifest unknown")
