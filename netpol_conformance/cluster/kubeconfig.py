"""Read a kubeconfig's contexts, or say in one line what is wrong with the file.

Pure: YAML only, no Kubernetes client. Used before any cluster work (option checks, `cleanup`)
and by the client loader, so that a bad kubeconfig is a usage error, never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from netpol_conformance.errors import UsageError
from netpol_conformance.strict_yaml import describe, explain

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class KubeconfigContexts:
    """The contexts a kubeconfig defines, and which one it calls current."""

    path: str
    names: tuple[str, ...]
    current: str | None = None
    clusters: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    # context name -> (cluster, user) it refers to; "" when not given
    refs: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def require(self, context: str) -> None:
        """Raise UsageError unless ``context`` is defined and names a defined cluster and user."""
        if context not in self.names:
            raise UsageError(
                f"kubeconfig {self.path} has no context {context!r}; "
                f"it has: {', '.join(self.names)} (choose one with --kube-context)"
            )
        cluster, user = self.refs.get(context, ("", ""))
        if cluster not in self.clusters:
            named = f"cluster {cluster!r}, which it does not define" if cluster else "no cluster"
            raise UsageError(f"kubeconfig {self.path}: context {context!r} names {named}")
        if user and user not in self.users:
            raise UsageError(
                f"kubeconfig {self.path}: context {context!r} names user {user!r}, "
                "which it does not define"
            )


def kubeconfig_path(explicit: str | None = None) -> str:
    """The kubeconfig to read: ``explicit``, else the first of $KUBECONFIG, else ~/.kube/config."""
    first = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return explicit or first or str(Path.home() / ".kube" / "config")


def read_kubeconfig_contexts(path: str | Path) -> KubeconfigContexts:
    """The contexts of the kubeconfig at ``path``; UsageError (one line) when it is unusable."""
    where = f"kubeconfig {path}"
    if not str(path):
        raise UsageError("no kubeconfig given: pass --kubeconfig PATH or set KUBECONFIG")
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(
            f"{where} does not exist: pass --kubeconfig PATH or set KUBECONFIG"
        ) from None
    except IsADirectoryError:
        raise UsageError(f"{where} is a directory, not a kubeconfig file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {where}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{where} is not UTF-8 text (byte {exc.start}): is it a kubeconfig?"
        ) from None
    try:
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        line, message = explain(exc)
        at = f" (line {line})" if line else ""
        raise UsageError(f"{where} is not valid YAML{at}: {message}") from None
    if doc is None:
        raise UsageError(f"{where} is empty")
    if not isinstance(doc, Mapping):
        raise UsageError(
            f"{where} must be a mapping with clusters, contexts and users, found {describe(doc)}"
        )
    contexts = _entries(doc, "contexts", "context", where)
    if not contexts:
        raise UsageError(f"{where} defines no contexts")
    current = doc.get("current-context")
    if current is not None and not isinstance(current, str):
        raise UsageError(f"{where}: current-context must be a string, found {describe(current)}")
    refs = {}
    for name, body, at in contexts:
        refs[name] = (_reference(body, "cluster", at, where), _reference(body, "user", at, where))
    return KubeconfigContexts(
        str(path),
        tuple(name for name, _, _ in contexts),
        current or None,
        tuple(name for name, _, _ in _entries(doc, "clusters", "cluster", where)),
        tuple(name for name, _, _ in _entries(doc, "users", "user", where, optional_body=True)),
        refs,
    )


def require_kube_context(path: str | Path, context: str) -> KubeconfigContexts:
    """Read the kubeconfig and check that it defines ``context``; UsageError otherwise."""
    contexts = read_kubeconfig_contexts(path)
    contexts.require(context)
    return contexts


def _entries(
    doc: Mapping[str, Any], section: str, body_key: str, where: str, optional_body: bool = False
) -> list[tuple[str, Mapping[str, Any], str]]:
    """(name, body, position) of each entry of a named list such as ``contexts``."""
    raw = doc.get(section)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise UsageError(f"{where}: {section} must be a list, found {describe(raw)}")
    out: list[tuple[str, Mapping[str, Any], str]] = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(raw):
        at = f"{section}[{i}]"
        if not isinstance(entry, Mapping):
            raise UsageError(
                f"{where}: {at} must be a mapping with a name and a {body_key}, "
                f"found {describe(entry)}"
            )
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            got = "no name" if name is None else f"name {describe(name)}"
            raise UsageError(f"{where}: {at} has {got}; every entry needs a name")
        if name in seen:
            raise UsageError(f"{where}: {body_key} {name!r} is defined twice ({seen[name]}, {at})")
        seen[name] = at
        body = entry.get(body_key)
        if body is None and optional_body:
            body = {}
        if not isinstance(body, Mapping):
            got = "none" if body is None else describe(body)
            raise UsageError(f"{where}: {at} ({name}) needs a {body_key} mapping, found {got}")
        out.append((name, body, at))
    return out


def _reference(body: Mapping[str, Any], key: str, at: str, where: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UsageError(f"{where}: {at}.context.{key} must be a name, found {describe(value)}")
    return value
