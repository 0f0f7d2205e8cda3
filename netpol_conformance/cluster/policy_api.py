"""The NetworkPolicy API as upstream's API specs use it (network_policy_api.go, specs 49 and
50): create, get, list, watch, patch, update, delete, delete a collection, and a server-side
dry run that returns the API server's verdict on an object without storing it.

Objects go in and come out as plain dicts, as ``kubectl get -o json`` shows them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Doc = dict[str, Any]


class ApiRefused(Exception):
    """The API server answered with an error status (404, 409, 422, ...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Listing:
    items: list[Doc]
    resource_version: str  # the list's: a watch from it sees every later change


@dataclass(frozen=True)
class Event:
    type: str  # ADDED, MODIFIED, DELETED
    object: Doc


class PolicyApi(ABC):
    @abstractmethod
    def create(self, namespace: str, body: Mapping[str, Any]) -> Doc: ...

    @abstractmethod
    def get(self, namespace: str, name: str) -> Doc: ...

    @abstractmethod
    def list(self, namespace: str | None, label_selector: str = "") -> Listing:
        """In one namespace, or in all (``None``)."""

    @abstractmethod
    def watch(
        self,
        namespace: str,
        label_selector: str,
        resource_version: str,
        timeout: float,
        until: Callable[[list[Event]], bool] = lambda _: False,
    ) -> list[Event]:
        """The changes after ``resource_version``, as a watch delivers them, until ``until``
        holds for the events so far or ``timeout`` seconds have passed."""

    @abstractmethod
    def patch(self, namespace: str, name: str, patch: Mapping[str, Any]) -> Doc:
        """A merge patch."""

    @abstractmethod
    def update(self, namespace: str, body: Mapping[str, Any]) -> Doc:
        """Replace the object; ``body`` carries the resourceVersion it was read at."""

    @abstractmethod
    def delete(self, namespace: str, name: str) -> None: ...

    @abstractmethod
    def delete_collection(self, namespace: str, label_selector: str) -> None: ...

    @abstractmethod
    def dry_run_create(self, namespace: str, body: Mapping[str, Any]) -> list[str]:
        """The API server's reasons to refuse ``body``; empty when it would store it."""
