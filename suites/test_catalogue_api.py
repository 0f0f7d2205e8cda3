"""Upstream's two API specs (network_policy_api.go): the NetworkPolicy API's operations, and
the API server's validation of ``endPort``. No traffic: each runs in a namespace of its own.

    test_upstream_49_networkpolicy_api_operations
    test_upstream_50_endport_validation
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from netpol_conformance.cluster.policy_api import ApiRefused, Event

pytestmark = [pytest.mark.catalogue, pytest.mark.api]

SPEC_LABEL = "netpol-conformance.io/api-spec"


def _policy(name: str, spec: str, ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "labels": {SPEC_LABEL: spec}},
        "spec": {
            "podSelector": {"matchLabels": {"pod": "a"}},
            "ingress": [{"ports": ports or [{"protocol": "TCP", "port": 80}]}],
            "policyTypes": ["Ingress"],
        },
    }


def _refused(call: Any, *args: Any) -> ApiRefused:
    with pytest.raises(ApiRefused) as info:
        call(*args)
    return info.value


def _names(docs: list[dict[str, Any]]) -> list[str]:
    return sorted(d["metadata"]["name"] for d in docs)


def test_upstream_49_networkpolicy_api_operations(netpol_api):
    """Create, get, list (in the namespace and in all), watch, patch, update (and a stale
    update refused), delete, delete a collection, and a second create of a name refused."""
    api, ns = netpol_api.api, netpol_api.namespace
    selector = f"{SPEC_LABEL}=49"
    created = [api.create(ns, _policy(f"api-{i}", "49")) for i in (1, 2, 3)]
    assert _refused(api.create, ns, _policy("api-1", "49")).status == 409

    got = api.get(ns, "api-1")
    assert got["metadata"]["uid"] == created[0]["metadata"]["uid"]
    assert got["spec"] == created[0]["spec"]
    here = api.list(ns, selector)
    assert _names(here.items) == ["api-1", "api-2", "api-3"]
    everywhere = api.list(None, selector)
    assert _names([d for d in everywhere.items if d["metadata"]["namespace"] == ns]) == _names(
        here.items
    )

    patched = api.patch(ns, "api-1", {"metadata": {"annotations": {"patched": "true"}}})
    assert patched["metadata"]["annotations"]["patched"] == "true"
    assert patched["spec"] == created[0]["spec"]

    body = api.get(ns, "api-2")
    stale = copy.deepcopy(body)
    body["metadata"]["annotations"] = {"updated": "true"}
    body["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": 81}]
    updated = api.update(ns, body)
    assert updated["metadata"]["annotations"] == {"updated": "true"}
    assert updated["spec"]["ingress"][0]["ports"][0]["port"] == 81
    assert api.get(ns, "api-2")["spec"]["ingress"][0]["ports"][0]["port"] == 81
    assert _refused(api.update, ns, stale).status == 409  # read before the update

    api.delete(ns, "api-3")
    assert _refused(api.get, ns, "api-3").status == 404

    def deleted(events: list[Event]) -> bool:
        return any(e.type == "DELETED" for e in events)

    events = api.watch(ns, selector, here.resource_version, 20, until=deleted)
    seen = [(e.type, e.object["metadata"]["name"]) for e in events]
    assert seen == [("MODIFIED", "api-1"), ("MODIFIED", "api-2"), ("DELETED", "api-3")], seen

    api.delete_collection(ns, selector)
    assert api.list(ns, selector).items == []


ENDPORT_CASES = [
    # (what, the port entry, whether the API server stores it)
    ("endPort without port", {"protocol": "TCP", "endPort": 84}, False),
    ("endPort with a named port", {"protocol": "TCP", "port": "web", "endPort": 84}, False),
    ("endPort below port", {"protocol": "TCP", "port": 84, "endPort": 80}, False),
    ("endPort equal to port", {"protocol": "TCP", "port": 80, "endPort": 80}, True),
    ("endPort above port", {"protocol": "TCP", "port": 80, "endPort": 84}, True),
]


def test_upstream_50_endport_validation(netpol_api):
    """A server-side dry run of each case: refused with a reason naming endPort, or accepted;
    nothing is stored either way."""
    api, ns = netpol_api.api, netpol_api.namespace
    wrong = []
    for i, (what, port, accepted) in enumerate(ENDPORT_CASES):
        reasons = api.dry_run_create(ns, _policy(f"endport-{i}", "50", [port]))
        if accepted and reasons:
            wrong.append(f"{what} {port}: expected accepted, refused: {reasons[0]}")
        elif not accepted and not reasons:
            wrong.append(f"{what} {port}: expected refused, accepted")
        elif not accepted and not any("endPort" in r for r in reasons):
            wrong.append(f"{what} {port}: refused for another reason: {reasons[0]}")
    assert not wrong, "\n".join(wrong)
    assert api.list(ns, f"{SPEC_LABEL}=50").items == []  # a dry run stores nothing
