"""A real cluster through the official Kubernetes client: objects, pod states and exec.

Exec goes over the API server's websocket stream, never through `kubectl` subprocesses. The
client's stream helper swaps a method on its ApiClient while a call is open, so every thread
gets an ApiClient of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream
from urllib3.exceptions import HTTPError

from netpol_conformance.cluster.base import (
    MANAGED_LABEL,
    Backend,
    ClusterInfo,
    ExecResult,
    NodeFacts,
    PodState,
)
from netpol_conformance.cluster.kube_policy_api import KubePolicyApi
from netpol_conformance.cluster.kubeconfig import require_kube_context
from netpol_conformance.cluster.policy_api import PolicyApi
from netpol_conformance.cluster.shell_session import SessionPool
from netpol_conformance.errors import SetupError, UsageError

_API_TIMEOUT = 30


@dataclass(frozen=True)
class _Verbs:
    create: Callable[..., Any]
    read: Callable[..., Any]
    replace: Callable[..., Any] | None
    delete: Callable[..., Any]
    namespaced: bool = True


def load_configuration(kubeconfig: str, context: str) -> client.Configuration:
    """Load one context of a kubeconfig; never fall back to the current context."""
    require_kube_context(kubeconfig, context)
    cfg = client.Configuration()
    try:
        config.load_kube_config(
            config_file=kubeconfig, context=context, client_configuration=cfg, persist_config=False
        )
    except (
        config.ConfigException,
        OSError,
        TypeError,
        AttributeError,
        KeyError,
        ValueError,
    ) as exc:
        # The client reads the rest of the file (certificates, auth plugins) with little care
        # for its shape; whatever it trips on is a problem of the kubeconfig.
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise UsageError(f"kubeconfig {kubeconfig}, context {context!r}: {detail}") from None
    return cfg


class KubeBackend(Backend):
    def __init__(
        self, info: ClusterInfo, configuration: client.Configuration | None = None
    ) -> None:
        self.info = info
        self._cfg = configuration or load_configuration(info.kubeconfig, info.context)
        self._local = threading.local()
        self._sessions = SessionPool(self._shell_opener)

    # --- clients

    def api_client(self) -> client.ApiClient:
        """This thread's own ApiClient: the stream helper patches the client during an exec."""
        api = getattr(self._local, "api", None)
        if api is None:
            api = self._local.api = client.ApiClient(self._cfg)
        return api

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api_client())

    @property
    def net(self) -> client.NetworkingV1Api:
        return client.NetworkingV1Api(self.api_client())

    def check_reachable(self) -> str:
        """The server version, or one SetupError saying why the API server is not usable."""
        try:
            version = client.VersionApi(self.api_client()).get_code(_request_timeout=10)
            self.core.list_namespace(limit=1, _request_timeout=10)
        except ApiException as exc:
            if exc.status in (401, 403):
                raise SetupError(
                    f"the API server refused our credentials ({exc.status} {exc.reason}); the "
                    "suite needs to create namespaces, pods and NetworkPolicies"
                ) from None
            raise SetupError(f"the API server answered {exc.status} {exc.reason}") from None
        except (HTTPError, OSError) as exc:
            raise SetupError(f"cannot reach the API server at {self._cfg.host}: {exc}") from None
        return str(version.git_version)

    # --- objects

    def _verbs(self, kind: str) -> _Verbs:
        """The client calls for one kind; namespaced calls take the namespace after the name."""
        core, net = self.core, self.net
        table = {
            "Namespace": _Verbs(
                core.create_namespace,
                core.read_namespace,
                core.replace_namespace,
                core.delete_namespace,
                namespaced=False,
            ),
            "ConfigMap": _Verbs(
                core.create_namespaced_config_map,
                core.read_namespaced_config_map,
                core.replace_namespaced_config_map,
                core.delete_namespaced_config_map,
            ),
            "Pod": _Verbs(
                core.create_namespaced_pod,
                core.read_namespaced_pod,
                None,  # pods are immutable: an existing one is reused
                core.delete_namespaced_pod,
            ),
            "NetworkPolicy": _Verbs(
                net.create_namespaced_network_policy,
                net.read_namespaced_network_policy,
                net.replace_namespaced_network_policy,
                net.delete_namespaced_network_policy,
            ),
        }
        if kind not in table:
            raise ValueError(f"the suite does not manage {kind} objects")
        return table[kind]

    def apply(self, objects: Sequence[Mapping[str, Any]]) -> None:
        for obj in objects:
            verbs = self._verbs(obj["kind"])
            meta = obj["metadata"]
            ns = [meta["namespace"]] if verbs.namespaced else []
            try:
                verbs.create(*ns, dict(obj), _request_timeout=_API_TIMEOUT)
            except ApiException as exc:
                if exc.status != 409:
                    raise SetupError(_api_error("create", obj, exc)) from None
                if verbs.replace is None:
                    continue
                current = verbs.read(meta["name"], *ns, _request_timeout=_API_TIMEOUT)
                body = {
                    **obj,
                    "metadata": {**meta, "resourceVersion": current.metadata.resource_version},
                }
                try:
                    verbs.replace(meta["name"], *ns, body, _request_timeout=_API_TIMEOUT)
                except ApiException as exc2:
                    raise SetupError(_api_error("replace", obj, exc2)) from None

    def delete(self, objects: Sequence[Mapping[str, Any]]) -> None:
        self._sessions.forget(
            namespaces={o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"},
            pods={
                (o["metadata"]["namespace"], o["metadata"]["name"])
                for o in objects
                if o["kind"] == "Pod"
            },
        )
        for obj in objects:
            verbs = self._verbs(obj["kind"])
            meta = obj["metadata"]
            ns = [meta["namespace"]] if verbs.namespaced else []
            try:
                verbs.delete(meta["name"], *ns, _request_timeout=_API_TIMEOUT)
            except ApiException as exc:
                if exc.status != 404:
                    raise SetupError(_api_error("delete", obj, exc)) from None

    def label(
        self,
        kind: str,
        namespace: str,
        name: str,
        set_: Mapping[str, str],
        remove: Sequence[str] = (),
    ) -> None:
        """One merge patch of the labels: a null value removes a label."""
        labels: dict[str, str | None] = {**dict.fromkeys(remove), **set_}
        body = {"metadata": {"labels": labels}}
        obj = {"kind": kind, "metadata": {"namespace": namespace, "name": name}}
        try:
            if kind == "Namespace":
                self.core.patch_namespace(name, body, _request_timeout=_API_TIMEOUT)
            elif kind == "Pod":
                self.core.patch_namespaced_pod(name, namespace, body, _request_timeout=_API_TIMEOUT)
            else:
                raise ValueError(f"the suite does not label {kind} objects")
        except ApiException as exc:
            raise SetupError(_api_error("label", obj, exc)) from None

    def pods(self, namespaces: Sequence[str]) -> list[PodState]:
        out = []
        for ns in namespaces:
            for pod in self.core.list_namespaced_pod(ns, _request_timeout=_API_TIMEOUT).items:
                statuses = pod.status.container_statuses or []
                ready = bool(statuses) and all(s.ready for s in statuses)
                waiting = [
                    f"{s.name}: {s.state.waiting.reason}"
                    + (f" ({s.state.waiting.message})" if s.state.waiting.message else "")
                    for s in statuses
                    if s.state and s.state.waiting
                ]
                conditions = [
                    c.message
                    for c in pod.status.conditions or []
                    if c.status != "True" and c.message
                ]
                out.append(
                    PodState(
                        ns,
                        pod.metadata.name,
                        pod.status.pod_ip or "",
                        ready,
                        pod.status.phase or "",
                        "; ".join(waiting or conditions),
                        node=(pod.spec.node_name if pod.spec else None) or "",
                    )
                )
        return out

    def exec(
        self, namespace: str, pod: str, container: str, argv: Sequence[str], timeout: float
    ) -> ExecResult:
        try:
            resp = stream(
                self.core.connect_get_namespaced_pod_exec,
                pod,
                namespace,
                container=container,
                command=list(argv),
                stderr=True,
                stdin=False,
                stdout=True,
                tty=False,
                _preload_content=False,
            )
        except ApiException as exc:
            return ExecResult(-1, "", error=f"exec in {namespace}/{pod}: {exc.status} {exc.reason}")
        except Exception as exc:  # the websocket layer raises many types
            return ExecResult(-1, "", error=f"exec in {namespace}/{pod}: {exc}")
        try:
            resp.run_forever(timeout=timeout)
            stdout = resp.read_stdout(timeout=0) if resp.peek_stdout() else ""
            stderr = resp.read_stderr(timeout=0) if resp.peek_stderr() else ""
            if resp.is_open():
                return ExecResult(
                    -1, stdout, stderr, error=f"exec did not finish in {timeout:.0f}s"
                )
            code = resp.returncode
        except Exception as exc:
            return ExecResult(-1, "", error=f"exec in {namespace}/{pod}: {exc}")
        finally:
            resp.close()
        return ExecResult(int(code or 0), stdout, stderr)

    def _shell_opener(self, namespace: str, pod: str, container: str) -> Callable[[], Any]:
        def open_stream() -> Any:
            return stream(
                self.core.connect_get_namespaced_pod_exec,
                pod,
                namespace,
                container=container,
                command=["sh"],
                stderr=True,
                stdin=True,
                stdout=True,
                tty=False,
                _preload_content=False,
            )

        return open_stream

    def run_script(
        self, namespace: str, pod: str, container: str, script: str, timeout: float
    ) -> ExecResult:
        """In a shell kept open per container (``shell_session``): no exec per script."""
        return self._sessions.run(namespace, pod, container, script, timeout)

    def close_sessions(self) -> None:
        self._sessions.close()

    def policy_api(self) -> PolicyApi:
        return KubePolicyApi(self.api_client)

    def delete_namespaces(self, label_selector: str) -> list[str]:
        try:
            items = self.core.list_namespace(
                label_selector=label_selector, _request_timeout=_API_TIMEOUT
            ).items
        except (ApiException, HTTPError, OSError) as exc:
            raise SetupError(f"cannot list namespaces to clean up: {exc}") from None
        # Namespaces already terminating are on their way out: do not count them again.
        names = [ns.metadata.name for ns in items if ns.metadata.deletion_timestamp is None]
        self._sessions.forget(namespaces=set(names))
        for name in names:
            try:
                self.core.delete_namespace(
                    name,
                    propagation_policy="Background",
                    grace_period_seconds=0,
                    _request_timeout=_API_TIMEOUT,
                )
            except ApiException as exc:
                if exc.status != 404:
                    raise SetupError(f"cannot delete namespace {name}: {exc.reason}") from None
        return names

    def network_policies(self, namespace: str) -> list[dict[str, Any]]:
        items = self.net.list_namespaced_network_policy(
            namespace, _request_timeout=_API_TIMEOUT
        ).items
        api = self.api_client()
        out = []
        for item in items:
            doc = api.sanitize_for_serialization(item)
            doc.update(apiVersion="networking.k8s.io/v1", kind="NetworkPolicy")
            out.append(doc)
        return out

    def daemonset_images(self) -> dict[str, list[str]]:
        apps = client.AppsV1Api(self.api_client())
        try:
            items = apps.list_daemon_set_for_all_namespaces(_request_timeout=_API_TIMEOUT).items
        except (ApiException, HTTPError, OSError):
            return {}  # not allowed to list them: the version stays unknown, nothing else
        return {
            f"{d.metadata.namespace}/{d.metadata.name}": [
                c.image for c in d.spec.template.spec.containers or []
            ]
            for d in items
        }

    def node_facts(self) -> list[NodeFacts]:
        try:
            items = self.core.list_node(_request_timeout=_API_TIMEOUT).items
        except (ApiException, HTTPError, OSError):
            return []  # not allowed to list nodes: nothing to recognise a host agent by
        return [
            NodeFacts(
                n.metadata.name, dict(n.metadata.labels or {}), dict(n.metadata.annotations or {})
            )
            for n in items
        ]

    def cni_components(self) -> list[str]:
        pods = self.core.list_pod_for_all_namespaces(_request_timeout=_API_TIMEOUT).items
        host_agents = list(self.info.extra.get("host_agents", []))
        system = [
            p.metadata.name for p in pods if (p.metadata.labels or {}).get(MANAGED_LABEL) != "true"
        ]  # not our test pods
        return sorted(system) + host_agents


def _api_error(verb: str, obj: Mapping[str, Any], exc: ApiException) -> str:
    meta = obj.get("metadata", {})
    where = "/".join(x for x in (meta.get("namespace"), meta.get("name")) if x)
    detail = exc.body if isinstance(exc.body, str) else exc.reason
    return f"cannot {verb} {obj.get('kind')} {where}: {exc.status} {detail}"
