"""The NetworkPolicy API of the simulated cluster (``cluster.policy_api``): an object store
with resource versions, a watch log, merge patches, optimistic concurrency on update, and the
API server's validation (``policy.parse``). What it stores is what the simulated cluster
enforces. It proves the suite's API specs run; a real API server proves the answers."""

from __future__ import annotations

import copy
import itertools
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from netpol_conformance.cluster.policy_api import ApiRefused, Doc, Event, Listing, PolicyApi
from netpol_conformance.policy.parse import parse_policy


class _Cluster(Protocol):
    """What the store needs of the simulated cluster, which enforces what it stores."""

    def apply(self, objects: Sequence[Mapping[str, Any]]) -> None: ...

    def delete(self, objects: Sequence[Mapping[str, Any]]) -> None: ...

    def has_namespace(self, name: str) -> bool: ...


def _selector_matches(selector: str, labels: Mapping[str, str]) -> bool:
    """Equality (``k=v``, ``k==v``, ``k!=v``) and existence (``k``, ``!k``) terms, ANDed."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            k, v = (x.strip() for x in term.split("!=", 1))
            ok = labels.get(k) != v
        elif "=" in term:
            k, v = (x.strip() for x in term.replace("==", "=").split("=", 1))
            ok = labels.get(k) == v
        elif term.startswith("!"):
            ok = term[1:].strip() not in labels
        else:
            ok = term in labels
        if not ok:
            return False
    return True


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null removes, anything else replaces."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


class SimulatedPolicyApi(PolicyApi):
    def __init__(self, cluster: _Cluster) -> None:
        self._cluster = cluster
        self._lock = threading.Lock()
        self._objects: dict[tuple[str, str], Doc] = {}
        self._log: list[tuple[int, str, Doc]] = []  # (resource version, type, object)
        self._versions = itertools.count(1)

    def _labels(self, doc: Mapping[str, Any]) -> Mapping[str, str]:
        return doc.get("metadata", {}).get("labels") or {}

    def _store(self, namespace: str, body: Mapping[str, Any], kind: str, old: Doc | None) -> Doc:
        doc = copy.deepcopy(dict(body))
        doc.setdefault("apiVersion", "networking.k8s.io/v1")
        doc.setdefault("kind", "NetworkPolicy")
        meta = doc.setdefault("metadata", {})
        meta["namespace"] = namespace
        self._validate(namespace, doc)
        version = next(self._versions)
        meta["resourceVersion"] = str(version)
        meta["uid"] = (old or {}).get("metadata", {}).get("uid") or str(uuid.uuid4())
        self._cluster.apply([doc])  # valid: _validate found no problem
        self._objects[(namespace, meta["name"])] = doc
        self._log.append((version, kind, copy.deepcopy(doc)))
        return copy.deepcopy(doc)

    def _validate(self, namespace: str, doc: Mapping[str, Any]) -> None:
        if not self._cluster.has_namespace(namespace):
            raise ApiRefused(404, f'namespaces "{namespace}" not found')
        _, problems = parse_policy(doc, f"NetworkPolicy {namespace}")
        if problems:
            raise ApiRefused(422, "; ".join(str(p) for p in problems))

    def _existing(self, namespace: str, name: str) -> Doc:
        doc = self._objects.get((namespace, name))
        if doc is None:
            raise ApiRefused(404, f'networkpolicies.networking.k8s.io "{name}" not found')
        return doc

    def create(self, namespace: str, body: Mapping[str, Any]) -> Doc:
        with self._lock:
            name = body.get("metadata", {}).get("name", "")
            if (namespace, name) in self._objects:
                raise ApiRefused(409, f'networkpolicies.networking.k8s.io "{name}" already exists')
            return self._store(namespace, body, "ADDED", None)

    def get(self, namespace: str, name: str) -> Doc:
        with self._lock:
            return copy.deepcopy(self._existing(namespace, name))

    def list(self, namespace: str | None, label_selector: str = "") -> Listing:
        with self._lock:
            items = [
                copy.deepcopy(doc)
                for (ns, _), doc in sorted(self._objects.items())
                if (namespace is None or ns == namespace)
                and self._cluster.has_namespace(ns)
                and _selector_matches(label_selector, self._labels(doc))
            ]
            latest = self._log[-1][0] if self._log else 0
            return Listing(items, str(latest))

    def watch(
        self,
        namespace: str,
        label_selector: str,
        resource_version: str,
        timeout: float,
        until: Callable[[list[Event]], bool] = lambda _: False,
    ) -> list[Event]:
        since = int(resource_version or 0)
        events: list[Event] = []
        with self._lock:
            log = list(self._log)
        for version, kind, doc in log:
            if version <= since or doc["metadata"]["namespace"] != namespace:
                continue
            if _selector_matches(label_selector, self._labels(doc)):
                events.append(Event(kind, copy.deepcopy(doc)))
                if until(events):
                    break
        return events

    def patch(self, namespace: str, name: str, patch: Mapping[str, Any]) -> Doc:
        with self._lock:
            old = self._existing(namespace, name)
            body = _merge_patch(old, patch)
            return self._store(namespace, body, "MODIFIED", old)

    def update(self, namespace: str, body: Mapping[str, Any]) -> Doc:
        with self._lock:
            name = body["metadata"]["name"]
            old = self._existing(namespace, name)
            wanted = body["metadata"].get("resourceVersion")
            if wanted and wanted != old["metadata"]["resourceVersion"]:
                raise ApiRefused(
                    409,
                    f'Operation cannot be fulfilled on networkpolicies.networking.k8s.io "{name}":'
                    " the object has been modified; please apply your changes to the latest"
                    " version and try again",
                )
            return self._store(namespace, body, "MODIFIED", old)

    def _remove(self, namespace: str, name: str) -> None:
        doc = self._objects.pop((namespace, name))
        self._cluster.delete([doc])
        deleted = copy.deepcopy(doc)
        version = next(self._versions)
        deleted["metadata"]["resourceVersion"] = str(version)
        self._log.append((version, "DELETED", deleted))

    def delete(self, namespace: str, name: str) -> None:
        with self._lock:
            self._existing(namespace, name)
            self._remove(namespace, name)

    def delete_collection(self, namespace: str, label_selector: str) -> None:
        with self._lock:
            for ns, name in sorted(self._objects):
                doc = self._objects[(ns, name)]
                if ns == namespace and _selector_matches(label_selector, self._labels(doc)):
                    self._remove(ns, name)

    def dry_run_create(self, namespace: str, body: Mapping[str, Any]) -> list[str]:
        doc = {**dict(body), "metadata": {**dict(body.get("metadata", {})), "namespace": namespace}}
        try:
            self._validate(namespace, doc)
        except ApiRefused as exc:
            return [exc.message]
        return []
