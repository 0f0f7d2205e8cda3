"""The NetworkPolicy API of a real cluster, through the official client (``policy_api``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError

from netpol_conformance.cluster.policy_api import ApiRefused, Doc, Event, Listing, PolicyApi

_TIMEOUT = 30


def _refused(exc: ApiException) -> ApiRefused:
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        body = {}
    message = body.get("message") or exc.reason or str(exc)
    return ApiRefused(int(exc.status or 0), str(message))


class KubePolicyApi(PolicyApi):
    def __init__(self, api_client: Callable[[], client.ApiClient]) -> None:
        self._api_client = api_client

    @property
    def _net(self) -> client.NetworkingV1Api:
        return client.NetworkingV1Api(self._api_client())

    def _doc(self, obj: Any) -> Doc:
        out: Doc = self._api_client().sanitize_for_serialization(obj)
        return out

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, _request_timeout=_TIMEOUT, **kwargs)
        except ApiException as exc:
            raise _refused(exc) from None
        except (HTTPError, OSError) as exc:
            raise ApiRefused(0, f"the API server did not answer: {exc}") from None

    def create(self, namespace: str, body: Mapping[str, Any]) -> Doc:
        return self._doc(self._call(self._net.create_namespaced_network_policy, namespace, body))

    def get(self, namespace: str, name: str) -> Doc:
        return self._doc(self._call(self._net.read_namespaced_network_policy, name, namespace))

    def list(self, namespace: str | None, label_selector: str = "") -> Listing:
        if namespace is None:
            found = self._call(
                self._net.list_network_policy_for_all_namespaces, label_selector=label_selector
            )
        else:
            found = self._call(
                self._net.list_namespaced_network_policy, namespace, label_selector=label_selector
            )
        return Listing([self._doc(i) for i in found.items], found.metadata.resource_version)

    def watch(
        self,
        namespace: str,
        label_selector: str,
        resource_version: str,
        timeout: float,
        until: Callable[[list[Event]], bool] = lambda _: False,
    ) -> list[Event]:
        events: list[Event] = []
        deadline = time.monotonic() + timeout
        w = watch.Watch()
        try:
            for ev in w.stream(
                self._net.list_namespaced_network_policy,
                namespace,
                label_selector=label_selector,
                resource_version=resource_version,
                timeout_seconds=max(1, int(timeout)),
                _request_timeout=timeout + 5,
            ):
                events.append(Event(ev["type"], ev["raw_object"]))
                if until(events) or time.monotonic() > deadline:
                    break
        except ApiException as exc:
            raise _refused(exc) from None
        except (HTTPError, OSError) as exc:
            raise ApiRefused(0, f"the watch ended: {exc}") from None
        finally:
            w.stop()
        return events

    def patch(self, namespace: str, name: str, patch: Mapping[str, Any]) -> Doc:
        return self._doc(
            self._call(self._net.patch_namespaced_network_policy, name, namespace, patch)
        )

    def update(self, namespace: str, body: Mapping[str, Any]) -> Doc:
        name = body["metadata"]["name"]
        return self._doc(
            self._call(self._net.replace_namespaced_network_policy, name, namespace, body)
        )

    def delete(self, namespace: str, name: str) -> None:
        self._call(self._net.delete_namespaced_network_policy, name, namespace)

    def delete_collection(self, namespace: str, label_selector: str) -> None:
        self._call(
            self._net.delete_collection_namespaced_network_policy,
            namespace,
            label_selector=label_selector,
        )

    def dry_run_create(self, namespace: str, body: Mapping[str, Any]) -> list[str]:
        try:
            self._call(self._net.create_namespaced_network_policy, namespace, body, dry_run="All")
        except ApiRefused as exc:
            return [exc.message]
        return []
