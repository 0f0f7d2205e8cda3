"""Upstream's specs of deny and allow-all, pod and namespace selectors, AND and OR of peers.

Each table is written from the spec's own claim (x/a only from x/b, ...), not from the oracle.
"""

from __future__ import annotations

from netpol_conformance.scenarios.build import expr, ns_named, peer, policy, rule
from netpol_conformance.scenarios.model import ALLOW, DENY, Apply, Scenario, State

IN_DENY: list[dict[str, object]] = []  # a direction with no rules: everything denied
ALL_PODS: dict[str, object] = {}


def one_state(number: int, slug: str, family: str, policies: list[dict], table, ports=("80/TCP",)):
    """A spec with one state: its policies applied, then its table."""
    return Scenario(
        f"upstream-{number:02d}-{slug}",
        family,
        (State("policies", tuple(Apply(p) for p in policies), tuple(table)),),
        ports=tuple(ports),
        upstream=number,
    )


def _deny_ingress_x(number: int, slug: str, port: str) -> Scenario:
    return one_state(
        number,
        slug,
        "deny-allow-all",
        [policy("x", "deny-ingress", ingress=IN_DENY)],
        [(DENY, "*", "x/*", "*")],
        (port,),
    )


def _from_y_a(number: int, slug: str, port: str) -> Scenario:
    """x/a only from y/a: one peer with a namespace AND a pod selector."""
    return one_state(
        number,
        slug,
        "pod-and-namespace",
        [
            policy(
                "x",
                "allow-y-a",
                {"pod": "a"},
                ingress=[rule([peer({"pod": "a"}, ns_named("y"))])],
            )
        ],
        [(DENY, "*", "x/a", "*"), (ALLOW, "y/a", "x/a", "*")],
        (port,),
    )


SCENARIOS: tuple[Scenario, ...] = (
    # --- default deny and allow-all
    _deny_ingress_x(1, "default-deny-ingress", "80/TCP"),
    one_state(
        2,
        "default-deny-all",
        "deny-allow-all",
        [policy("x", "deny-all", ingress=IN_DENY, egress=IN_DENY)],
        [(DENY, "*", "x/*", "*"), (DENY, "x/*", "*", "*")],
    ),
    one_state(
        16,
        "allow-all",
        "deny-allow-all",
        [policy("x", "allow-all", ingress=[rule()])],
        [],
        ("80/TCP", "81/TCP"),
    ),
    one_state(
        25,
        "deny-egress-pod-selector",
        "deny-allow-all",
        [policy("x", "deny-egress-a", {"pod": "a"}, egress=IN_DENY)],
        [(DENY, "x/a", "*", "*")],
    ),
    one_state(
        26,
        "deny-egress-namespace",
        "deny-allow-all",
        [policy("x", "deny-egress", egress=IN_DENY)],
        [(DENY, "x/*", "*", "*")],
    ),
    _deny_ingress_x(43, "default-deny-ingress-udp", "80/UDP"),
    _deny_ingress_x(46, "default-deny-ingress-sctp", "80/SCTP"),
    # --- pod selector
    one_state(
        3,
        "pod-selector-same-namespace",
        "pod-selector",
        [policy("x", "allow-b", {"pod": "a"}, ingress=[rule([peer({"pod": "b"})])])],
        [(DENY, "*", "x/a", "*"), (ALLOW, "x/b", "x/a", "*")],
    ),
    one_state(
        7,
        "pod-selector-match-expressions",
        "pod-selector",
        [
            policy(
                "x",
                "allow-b-expr",
                {"pod": "a"},
                ingress=[rule([peer({"matchExpressions": [expr("pod", "In", ["b"])]})])],
            )
        ],
        [(DENY, "*", "x/a", "*"), (ALLOW, "x/b", "x/a", "*")],
    ),
    one_state(
        12,
        "any-pod-selector",
        "pod-selector",
        [
            policy(
                "x",
                "allow-b-or-c",
                {"pod": "a"},
                ingress=[rule([peer({"pod": "b"}), peer({"pod": "c"})])],
            )
        ],
        [(DENY, "*", "x/a", "*"), (ALLOW, "x/b", "x/a", "*"), (ALLOW, "x/c", "x/a", "*")],
    ),
    one_state(
        23,
        "deny-other-namespaces",
        "pod-selector",
        [policy("x", "same-namespace", ingress=[rule([peer(ALL_PODS)])])],
        [(DENY, "*", "x/*", "*"), (ALLOW, "x/*", "x/*", "*")],
    ),
    # --- namespace selector
    one_state(
        5,
        "from-all-namespaces",
        "namespace-selector",
        [policy("x", "all-namespaces", {"pod": "a"}, ingress=[rule([peer(ns={})])])],
        [(DENY, "*", "x/a", "*"), (ALLOW, "*", "x/a", "*")],
    ),
    one_state(
        6,
        "only-from-other-namespace",
        "namespace-selector",
        [policy("x", "from-y", {"pod": "a"}, ingress=[rule([peer(ns=ns_named("y"))])])],
        [(DENY, "*", "x/a", "*"), (ALLOW, "y/*", "x/a", "*")],
    ),
    one_state(
        8,
        "namespace-match-expressions",
        "namespace-selector",
        [
            policy(
                "x",
                "from-y-expr",
                {"pod": "a"},
                ingress=[rule([peer(ns=ns_named("y", operator="In"))])],
            )
        ],
        [(DENY, "*", "x/a", "*"), (ALLOW, "y/*", "x/a", "*")],
    ),
    one_state(
        41,
        "namespace-default-label",
        "namespace-selector",
        [
            policy(
                "x",
                "from-y-name",
                {"pod": "a"},
                ingress=[rule([peer(ns={"matchLabels": {"kubernetes.io/metadata.name": "y"}})])],
            )
        ],
        [(DENY, "*", "x/a", "*"), (ALLOW, "y/*", "x/a", "*")],
    ),
    one_state(
        42,
        "egress-namespace-not-in",
        "namespace-selector",
        [
            policy(
                "x",
                "not-to-y",
                {"pod": "a"},
                egress=[rule([peer(ns=ns_named("y", operator="NotIn"))], to=True)],
            )
        ],
        [(DENY, "x/a", "y/*", "*")],
    ),
    # --- pod AND namespace in one peer
    one_state(
        10,
        "pod-and-namespace",
        "pod-and-namespace",
        [
            policy(
                "x",
                "b-elsewhere",
                {"pod": "a"},
                ingress=[rule([peer({"pod": "b"}, ns_named("x", operator="NotIn"))])],
            )
        ],
        [(DENY, "*", "x/a", "*"), (ALLOW, "[yz]/b", "x/a", "*")],
    ),
    one_state(
        11,
        "pods-and-namespaces",
        "pod-and-namespace",
        [
            policy(
                "x",
                "b-c-elsewhere",
                {"pod": "a"},
                ingress=[
                    rule(
                        [
                            peer(
                                {"matchExpressions": [expr("pod", "In", ["b", "c"])]},
                                ns_named("x", operator="NotIn"),
                            )
                        ]
                    )
                ],
            )
        ],
        [(DENY, "*", "x/a", "*"), (ALLOW, "[yz]/[bc]", "x/a", "*")],
    ),
    _from_y_a(13, "pod-in-other-namespace", "80/TCP"),
    one_state(
        29,
        "egress-pod-in-other-namespace",
        "pod-and-namespace",
        [
            policy(
                "x",
                "to-y-a",
                {"pod": "a"},
                egress=[rule([peer({"pod": "a"}, ns_named("y"))], to=True)],
            )
        ],
        [(DENY, "x/a", "*", "*"), (ALLOW, "x/a", "y/a", "*")],
    ),
    _from_y_a(45, "pod-in-other-namespace-udp", "80/UDP"),
    _from_y_a(48, "pod-in-other-namespace-sctp", "80/SCTP"),
    # --- OR of peers
    one_state(
        9,
        "pod-or-namespace",
        "or-of-peers",
        [
            policy(
                "x",
                "elsewhere-or-b",
                {"pod": "a"},
                ingress=[rule([peer(ns=ns_named("x", operator="NotIn")), peer({"pod": "b"})])],
            )
        ],
        [(DENY, "*", "x/a", "*"), (ALLOW, "[yz]/*", "x/a", "*"), (ALLOW, "x/b", "x/a", "*")],
    ),
)
