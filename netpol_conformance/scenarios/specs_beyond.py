"""What upstream's specs never check, each a scenario of its own, with the CNI bugs it matches:

- ``endPort`` ranges probed by traffic, ingress and egress: the first port, the last, and one
  past the end (cilium/cilium#28684: accepted and ignored);
- a named port that means different numbers on different pods, and a name whose protocol is not
  the rule's (aws/aws-network-policy-agent#149, ovn-org/ovn-kubernetes#2117);
- an ``except`` in one policy while a second policy allows the excepted address
  (ovn-org/ovn-kubernetes#845, antrea-io/antrea#367: the except treated as a deny);
- labels removed, not only added, on a namespace and on a pod (cloudnativelabs/kube-router#1035,
  kubeovn/kube-ovn#1920);
- a pod created after a deny is in force (cloudnativelabs/kube-router#873, k3s-io/k3s#13432);
- a policy updated in place to another peer, and a deny deleted.
"""

from __future__ import annotations

from netpol_conformance.scenarios.build import ns_named, peer, policy, port, rule
from netpol_conformance.scenarios.model import (
    ALLOW,
    DENY,
    Apply,
    CreatePod,
    Delete,
    Label,
    Scenario,
    State,
    Update,
)
from netpol_conformance.scenarios.specs_selectors import IN_DENY
from netpol_conformance.scenarios.topology import WEB

RANGE = ("80/TCP", "81/TCP", "83/TCP", "84/TCP")  # below, first, last, one past 81-83


def _ours(slug: str, family: str, states: list[State], ports: tuple[str, ...]) -> Scenario:
    return Scenario(f"beyond-{slug}", family, tuple(states), ports)


def _one(slug: str, family: str, policies: list[dict], table, ports=("80/TCP",)) -> Scenario:
    state = State("policies", tuple(Apply(p) for p in policies), tuple(table))
    return _ours(slug, family, [state], tuple(ports))


_EXCEPT_Y_B = policy(
    "x",
    "all-but-y-b",
    {"pod": "a"},
    egress=[rule([peer(cidr="0.0.0.0/0", except_=["{y/b}/32"])], to=True)],
)
_FROM_Y_AND_B = policy(
    "x", "from-y-b", {"pod": "a"}, ingress=[rule([peer({"pod": "b"}, ns_named("y"))])]
)
_FROM_TEAM = policy(
    "x", "from-team", {"pod": "a"}, ingress=[rule([peer(ns={"matchLabels": {"team": "blue"}})])]
)

SCENARIOS: tuple[Scenario, ...] = (
    _one(
        "endport-ingress",
        "ports",
        [policy("x", "range-in", {"pod": "a"}, ingress=[rule(ports=[port(81, end=83)])])],
        [(DENY, "*", "x/a", "*"), (ALLOW, "*", "x/a", "8[123]/TCP")],
        RANGE,
    ),
    _one(
        "endport-egress",
        "ports",
        [policy("x", "range-out", {"pod": "a"}, egress=[rule(ports=[port(81, end=83)], to=True)])],
        [(DENY, "x/a", "*", "*"), (ALLOW, "x/a", "*", "8[123]/TCP")],
        RANGE,
    ),
    _one(
        "named-port-differs-per-pod",
        "ports",
        [policy("x", "web-in", ingress=[rule(ports=[port(WEB)])])],
        [(DENY, "*", "x/*", "*"), (ALLOW, "*", "x/a", "81/TCP"), (ALLOW, "*", "x/[bc]", "80/TCP")],
        ("80/TCP", "81/TCP"),
    ),
    _one(
        "named-port-differs-per-pod-egress",
        "ports",
        [policy("x", "web-out", {"pod": "b"}, egress=[rule(ports=[port(WEB)], to=True)])],
        [
            (DENY, "x/b", "*", "*"),
            (ALLOW, "x/b", "*/a", "81/TCP"),
            (ALLOW, "x/b", "*/[bc]", "80/TCP"),
        ],
        ("80/TCP", "81/TCP"),
    ),
    _one(
        "named-port-wrong-protocol",
        "ports",
        [policy("x", "web-udp", {"pod": "a"}, ingress=[rule(ports=[port(WEB, "UDP")])])],
        [(DENY, "*", "x/a", "*")],
        ("80/TCP", "81/TCP", "81/UDP"),
    ),
    _ours(
        "except-and-another-allow",
        "ip-block",
        [
            State("except-y-b", (Apply(_EXCEPT_Y_B),), ((DENY, "x/a", "y/b", "*"),)),
            State(
                "and-allow-y-b",
                (
                    Apply(
                        policy(
                            "x",
                            "to-y-b",
                            {"pod": "a"},
                            egress=[rule([peer(cidr="{y/b}/32")], to=True)],
                        )
                    ),
                ),
                (),
            ),
        ],
        ("80/TCP",),
    ),
    _ours(
        "namespace-label-removed",
        "label-updates",
        [
            State(
                "labelled",
                (Label("y", {"team": "blue"}), Apply(_FROM_TEAM)),
                ((DENY, "*", "x/a", "*"), (ALLOW, "y/*", "x/a", "*")),
            ),
            State("label-removed", (Label("y", remove=("team",)),), ((DENY, "*", "x/a", "*"),)),
        ],
        ("80/TCP",),
    ),
    _ours(
        "pod-label-removed",
        "label-updates",
        [
            State(
                "in-force",
                (Apply(_FROM_Y_AND_B),),
                ((DENY, "*", "x/a", "*"), (ALLOW, "y/b", "x/a", "*")),
            ),
            State("label-removed", (Label("y/b", remove=("pod",)),), ((DENY, "*", "x/a", "*"),)),
        ],
        ("80/TCP",),
    ),
    _ours(
        "new-pod-under-deny",
        "new-pods",
        [
            State(
                "deny",
                (Apply(policy("x", "deny-ingress", ingress=IN_DENY)),),
                ((DENY, "*", "x/*", "*"),),
            ),
            State("pod-created", (CreatePod("x", "d", {"pod": "d"}),), ((DENY, "*", "x/*", "*"),)),
        ],
        ("80/TCP",),
    ),
    _ours(
        "updated-to-another-peer",
        "update-delete",
        [
            State(
                "from-y",
                (
                    Apply(
                        policy("x", "peer", {"pod": "a"}, ingress=[rule([peer(ns=ns_named("y"))])])
                    ),
                ),
                ((DENY, "*", "x/a", "*"), (ALLOW, "y/*", "x/a", "*")),
            ),
            State(
                "from-z",
                (
                    Update(
                        policy("x", "peer", {"pod": "a"}, ingress=[rule([peer(ns=ns_named("z"))])])
                    ),
                ),
                ((DENY, "*", "x/a", "*"), (ALLOW, "z/*", "x/a", "*")),
            ),
            State("deleted", (Delete("x", "peer"),), ()),
        ],
        ("80/TCP",),
    ),
)
