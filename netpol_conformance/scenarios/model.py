"""A scenario: an ordered list of states, each reached by a change and judged by its table.

A change is what a user does to a cluster: apply a policy, update one in place, delete one,
add or remove labels on a namespace or a pod, or create a pod. A state is the cluster after
its changes (on top of the states before it), with the expectation for every probe of the
scenario as a table written by hand from the spec, independently of the oracle:

    ("deny",  "*",   "x/a", "*")        nothing reaches x/a
    ("allow", "x/b", "x/a", "80/TCP")   ... except x/b on TCP 80

Rules are read top to bottom, the last one that matches wins, and everything starts allowed.
Sources and destinations are ``namespace/pod`` globs; ports are globs on ``PORT/PROTOCOL``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

ALLOW = "allow"
DENY = "deny"

TableRule = tuple[str, str, str, str]
Doc = Mapping[str, Any]


def table_allows(table: tuple[TableRule, ...], src: str, dst: str, port_key: str) -> bool:
    """What a table says of one probe (``port_key`` is ``80/TCP``): the last rule that matches,
    allowed when none does."""
    allowed = True
    for verdict, s, d, p in table:
        if fnmatchcase(src, s) and fnmatchcase(dst, d) and fnmatchcase(port_key, p):
            allowed = verdict == ALLOW
    return allowed


@dataclass(frozen=True)
class Apply:
    """Create a policy (kubectl apply of a new object)."""

    policy: Doc

    def __str__(self) -> str:
        return f"apply {_key(self.policy)}"


@dataclass(frozen=True)
class Update:
    """Replace a policy in force by a new version of the same name, in place."""

    policy: Doc

    def __str__(self) -> str:
        return f"update {_key(self.policy)}"


@dataclass(frozen=True)
class Delete:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"delete {self.namespace}/{self.name}"


@dataclass(frozen=True)
class Label:
    """Set and remove labels on a namespace (``x``) or a pod (``x/a``)."""

    target: str
    set: Mapping[str, str] = field(default_factory=dict)
    remove: tuple[str, ...] = ()

    @property
    def on_pod(self) -> bool:
        return "/" in self.target

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k, v in self.set.items()] + [f"{k}-" for k in self.remove]
        return f"label {self.target} {' '.join(parts)}"


@dataclass(frozen=True)
class CreatePod:
    """Create a pod of the topology's kind after the policies: it must be isolated as they say
    from its first packet."""

    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def __str__(self) -> str:
        return f"create pod {self.key}"


@dataclass(frozen=True)
class ApplyManifests:
    """Apply every object of a folder of manifests (the tutorial's step folders), as its
    reader does with ``kubectl apply -f FOLDER``."""

    folder: str

    def __str__(self) -> str:
        return f"apply -f {self.folder}"


Change = Apply | Update | Delete | Label | CreatePod | ApplyManifests


@dataclass(frozen=True)
class State:
    id: str
    changes: tuple[Change, ...]
    table: tuple[TableRule, ...]

    def allowed(self, src: str, dst: str, port_key: str) -> bool:
        return table_allows(self.table, src, dst, port_key)


@dataclass(frozen=True)
class Scenario:
    """Ordered states over one topology, probed on ``ports`` (``80/TCP``) between every two
    different pods of the state; ``upstream`` names the Kubernetes e2e spec it mirrors, by its
    number in network_policy.go (0: a scenario of our own)."""

    id: str
    family: str
    states: tuple[State, ...]
    ports: tuple[str, ...] = ("80/TCP",)
    upstream: int = 0
    title: str = ""

    def __post_init__(self) -> None:
        ids = [s.id for s in self.states]
        if not ids or len(set(ids)) != len(ids):
            raise ValueError(f"{self.id}: states need distinct ids, got {ids}")


def _key(policy: Doc) -> str:
    meta = policy["metadata"]
    return f"{meta['namespace']}/{meta['name']}"
