"""The local cluster tests share one cluster per session.

Tests marked ``local_cluster`` start a real cluster (root, network namespaces, a prior
`scripts/local-cluster build`), so they run only with NETPOL_LOCAL_CLUSTER=1. The session
brings the cluster up once (`up --cni $NETPOL_LOCAL_CLUSTER_CNI`, default kube-router) and down
at the end; test_lifecycle.py, which runs last, ends with `down` and checks that nothing is
left on the host.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from local_cluster_helpers import (  # noqa: E402 - needs the path above
    CNI,
    NAMESPACE,
    PODS_YAML,
    host_snapshot,
    kubectl,
    leftovers,
    run,
)

ENABLED = os.environ.get("NETPOL_LOCAL_CLUSTER") == "1"
SKIP_REASON = (
    "starts a real local cluster: set NETPOL_LOCAL_CLUSTER=1 (needs root and a prior "
    "`scripts/local-cluster build`)"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "local_cluster: needs a real local cluster (root)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ENABLED:
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if item.get_closest_marker("local_cluster"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def host_before() -> dict[str, object]:
    # Start from nothing, remember the host as it was.
    down = run("down", timeout=60)
    assert down.returncode == 0, down.stderr
    assert leftovers() == []
    return host_snapshot()


@pytest.fixture(scope="session")
def cluster(host_before):
    t0 = time.monotonic()
    run("up", "--cni", CNI, timeout=600, check=True)
    yield {"up_seconds": time.monotonic() - t0}
    print(run("down", timeout=60).stderr)


@pytest.fixture(scope="session")
def probe_pods(cluster) -> None:
    """A server and the clients `allowed` and `denied`, Running (no policy yet)."""
    kubectl("apply", "-f", "-", stdin=PODS_YAML)
    kubectl("-n", NAMESPACE, "wait", "--for=condition=Ready", "pod", "--all", "--timeout=120s")
