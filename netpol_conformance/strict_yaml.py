"""YAML read the way kubectl reads manifests: a key given twice in one mapping is an error.

PyYAML keeps the last of two equal keys without a word; a topology or a policy with, say, two
``ip:`` lines would then silently mean only one of them. libyaml's parser is used when PyYAML
was built with it (several times faster on large topologies); the result is the same.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from typing import Any

import yaml


class StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader that refuses duplicate keys (merge keys ``<<`` may still be overridden).

    Keys are compared as written (tag and text), which is what a person reading the file sees.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        pairs = node.value
        written = {_spelling(key) for key, _ in pairs}
        if len(written) < len(pairs):  # the common case, no duplicate, costs one set
            seen: dict[Hashable, yaml.Node] = {}
            for key, _ in pairs:
                spelling = _spelling(key)
                if spelling in seen:
                    line = seen[spelling].start_mark.line + 1
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found key {key.value!r} a second time (first on line {line})",
                        key.start_mark,
                    )
                seen[spelling] = key
        return super().construct_mapping(node, deep=deep)


def _spelling(key: yaml.Node) -> Hashable:
    return (key.tag, key.value) if isinstance(key, yaml.ScalarNode) else id(key)


def load(text: str) -> Any:
    """The single document in ``text`` (None when it is empty)."""
    return yaml.load(text, Loader=StrictLoader)


def load_all(text: str) -> Iterator[Any]:
    """Every document in ``text``, in order."""
    return yaml.load_all(text, Loader=StrictLoader)


def explain(exc: yaml.YAMLError) -> tuple[int | None, str]:
    """The line (1-based, when known) and a one-line description of a YAML error."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if not problem:
        return (mark.line + 1 if mark else None), " ".join(str(exc).split())
    context = getattr(exc, "context", None)
    return (mark.line + 1 if mark else None), problem + (f" ({context})" if context else "")


_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
               list: "a list", type(None): "null"}  # fmt: skip


def describe(value: Any) -> str:
    """A wrong value as a message shows it: its YAML type, and the value itself when short."""
    kind = "a mapping" if isinstance(value, Mapping) else _TYPE_NAMES.get(type(value))
    if kind is None:
        kind = type(value).__name__
    if isinstance(value, bool | int | float | str) and len(repr(value)) <= 40:
        return f"{kind} {value!r}"
    return kind
