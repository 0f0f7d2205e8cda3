"""YAML read the way kubectl reads manifests: a key given twice in one mapping is an error.

PyYAML keeps the last of two equal keys without a word; a topology or a policy with, say, two
``ip:`` lines would then silently mean only one of them. libyaml's parser is used when PyYAML
was built with it (several times faster on large topologies); the result is the same.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any

import yaml

_MERGE_TAG = "tag:yaml.org,2002:merge"


class StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader that refuses duplicate keys (merge keys ``<<`` may still be overridden)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Hashable, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # the base constructor reports unhashable keys
            if key in seen:
                line = seen[key].start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found key {key!r} a second time (first on line {line})",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


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
