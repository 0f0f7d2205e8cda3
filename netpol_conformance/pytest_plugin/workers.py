"""How many xdist workers ``-n auto`` starts.

xdist's own answer is one per CPU. A worker spends its time waiting for the cluster (a policy
to be enforced, a poll's execs to come back), and each runs its scenarios on a copy of the
topology of its own, so more workers mean more scenarios in force at once. That pays only
where the cluster does not share this machine's CPUs: on a two-core machine that also runs the
cluster (scripts/bench_catalogue.py, local kube-router cluster) four workers ran the catalogue
in 173-198 s instead of 236 s with two, but kept the CPUs 88-92 % busy (65 % with two), and in
the default run (tutorial and catalogue) an allowed probe timed out once ("Connection timed out
after 2364 milliseconds": curl's own 2 s timer fired late), a false deny. A kind or local
cluster runs on this machine: one worker per CPU. An existing cluster runs elsewhere: at least
``REMOTE_CLUSTER_WORKERS``. The simulated cluster computes every answer in the worker: one per
CPU.
"""

from __future__ import annotations

REMOTE = "existing"  # the only cluster that does not run on this machine
REMOTE_CLUSTER_WORKERS = 4  # the fewest workers -n auto starts for a remote cluster


def auto_workers(cluster: str, cpus: int, override: str | None = None) -> int | None:
    """The worker count for ``-n auto``; None leaves it to xdist (its one per CPU, or
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` when set: ``override``)."""
    if override or cluster != REMOTE:
        return None
    return max(cpus, REMOTE_CLUSTER_WORKERS)
