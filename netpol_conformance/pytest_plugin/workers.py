"""How many xdist workers ``-n auto`` starts.

xdist's own answer is one per CPU. On a real cluster a worker spends its time waiting for
the cluster (a policy to be enforced, a poll's execs to come back), not computing, and each
worker runs its scenarios on a copy of the topology of its own: more copies than CPUs means
more scenarios in force at once. Measured with the catalogue on a two-core machine running
the cluster as well (scripts/bench_catalogue.py, local kube-router cluster): 2 workers
338 s, 4 workers about 200 s, 8 workers 225 s (72 pods starting at once on one node made
the deployment the longest phase). Hence at least ``REAL_CLUSTER_WORKERS``. The simulated
cluster computes every answer in the worker: one per CPU, as xdist says.
"""

from __future__ import annotations

SIMULATED = "simulated"
REAL_CLUSTER_WORKERS = 4  # the fewest workers -n auto starts for a real cluster


def auto_workers(cluster: str, cpus: int, override: str | None = None) -> int | None:
    """The worker count for ``-n auto``; None leaves it to xdist (its one per CPU, or
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` when set: ``override``)."""
    if override or cluster == SIMULATED:
        return None
    return max(cpus, REAL_CLUSTER_WORKERS)
