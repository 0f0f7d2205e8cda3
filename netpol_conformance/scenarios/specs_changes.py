"""Upstream's specs of ports and named ports, protocols, ipBlock, client-side egress, several
policies combined, label updates and policy update and delete.

Each table is written from the spec's own claim, not from the oracle. A spec whose policies or
labels change mid-test has one state per step.
"""

from __future__ import annotations

from netpol_conformance.scenarios.build import ns_named, peer, policy, port, rule
from netpol_conformance.scenarios.model import (
    ALLOW,
    DENY,
    Apply,
    Delete,
    Label,
    Scenario,
    State,
    Update,
)
from netpol_conformance.scenarios.specs_selectors import IN_DENY, one_state


def _from_y_on(number: int, slug: str, protocol: str) -> Scenario:
    """x/a only from y, and only on port 81 of ``protocol``."""
    key = f"81/{protocol}"
    return one_state(
        number,
        slug,
        "ports",
        [
            policy(
                "x",
                "from-y-81",
                {"pod": "a"},
                ingress=[rule([peer(ns=ns_named("y"))], [port(81, protocol)])],
            )
        ],
        [(DENY, "*", "x/a", "*"), (ALLOW, "y/*", "x/a", key)],
        (key,),
    )


def _isolated_by_other_protocol(number: int, slug: str, allowed: str) -> Scenario:
    """x/a selected by a policy that allows only another protocol: TCP to it is denied."""
    number_, protocol = allowed.split("/")
    return one_state(
        number,
        slug,
        "protocols",
        [
            policy(
                "x",
                f"only-{protocol.lower()}",
                {"pod": "a"},
                ingress=[rule(ports=[port(int(number_), protocol)])],
            )
        ],
        [(DENY, "*", "x/a", "*")],
        ("81/TCP",),
    )


def _changing(number: int, slug: str, family: str, states: list[State], ports=("80/TCP",)):
    return Scenario(
        f"upstream-{number:02d}-{slug}", family, tuple(states), tuple(ports), upstream=number
    )


def _opened_by_label(number: int, slug: str, peer_: dict, label: Label, opened: str) -> Scenario:
    """x/a admits only ``peer_``, which matches nothing until ``label`` makes ``opened`` match."""
    allow = policy("x", slug, {"pod": "a"}, ingress=[rule([peer_])])
    closed = ((DENY, "*", "x/a", "*"),)
    return _changing(
        number,
        slug,
        "label-updates",
        [
            State("policy", (Apply(allow),), closed),
            State(
                f"{label.target.replace('/', '-')}-labelled",
                (label,),
                (*closed, (ALLOW, opened, "x/a", "*")),
            ),
        ],
    )


def _from_y_to_a_on(number: int) -> dict:
    """x/a admits y on one TCP port (spec 15 stacks two of these)."""
    return policy(
        "x", f"y-{number}", {"pod": "a"}, ingress=[rule([peer(ns=ns_named("y"))], [port(number)])]
    )


_EXCEPT_B = policy(
    "x",
    "to-block",
    {"pod": "a"},
    egress=[rule([peer(cidr="{x/b}/4", except_=["{x/b}/32"])], to=True)],
)
_ONLY_B = policy("x", "to-block", {"pod": "a"}, egress=[rule([peer(cidr="{x/b}/32")], to=True)])

SCENARIOS: tuple[Scenario, ...] = (
    # --- ports and named ports
    _from_y_on(14, "ports", "TCP"),
    one_state(
        17,
        "named-port-ingress",
        "ports",
        [policy("x", "serve-81", ingress=[rule(ports=[port("serve-81-tcp")])])],
        [(DENY, "*", "x/*", "80/TCP")],
        ("80/TCP", "81/TCP"),
    ),
    one_state(
        18,
        "named-port-from-namespace",
        "ports",
        [
            policy(
                "x",
                "y-on-serve-80",
                {"pod": "a"},
                ingress=[rule([peer(ns=ns_named("y"))], [port("serve-80-tcp")])],
            )
        ],
        [(DENY, "*", "x/a", "*"), (ALLOW, "y/*", "x/a", "80/TCP")],
        ("80/TCP", "81/TCP"),
    ),
    one_state(
        19,
        "named-port-egress",
        "ports",
        [policy("x", "to-serve-80", egress=[rule(ports=[port("serve-80-tcp")], to=True)])],
        [(DENY, "x/*", "*", "81/TCP")],
        ("80/TCP", "81/TCP"),
    ),
    one_state(
        27,
        "ingress-and-egress-together",
        "ports",
        [
            policy(
                "x",
                "both",
                {"pod": "a"},
                ingress=[rule([peer({"pod": "b"})])],
                egress=[rule(ports=[port(80, None)], to=True)],
            )
        ],
        [(DENY, "*", "x/a", "*"), (ALLOW, "x/b", "x/a", "*"), (DENY, "x/a", "*", "81/TCP")],
        ("80/TCP", "81/TCP"),
    ),
    _from_y_on(44, "ports-udp", "UDP"),
    _from_y_on(47, "ports-sctp", "SCTP"),
    # --- protocols
    one_state(
        30,
        "any-port-of-a-protocol",
        "protocols",
        [policy("x", "any-tcp", {"pod": "a"}, ingress=[rule(ports=[port(None, "TCP")])])],
        [(DENY, "*", "x/a", "*/UDP")],
        ("80/TCP", "80/UDP"),
    ),
    one_state(
        38,
        "sctp-is-not-tcp",
        "protocols",
        [
            policy("x", "deny-ingress", ingress=IN_DENY),
            policy("x", "sctp-81", {"pod": "a"}, ingress=[rule(ports=[port(81, "SCTP")])]),
        ],
        [(DENY, "*", "x/*", "*")],
        ("81/TCP",),
    ),
    _isolated_by_other_protocol(39, "isolated-by-sctp-policy", "80/SCTP"),
    _isolated_by_other_protocol(40, "no-tcp-when-only-udp", "81/UDP"),
    # --- ipBlock and except
    one_state(
        34,
        "egress-to-cidr",
        "ip-block",
        [policy("x", "to-y-b", {"pod": "a"}, egress=[rule([peer(cidr="{y/b}/32")], to=True)])],
        [(DENY, "x/a", "*", "*"), (ALLOW, "x/a", "y/b", "*")],
    ),
    one_state(35, "except-in-cidr", "ip-block", [_EXCEPT_B], [(DENY, "x/a", "x/b", "*")]),
    _changing(
        36,
        "cidr-and-except-updated",
        "ip-block",
        [
            State("except-b", (Apply(_EXCEPT_B),), ((DENY, "x/a", "x/b", "*"),)),
            State(
                "only-b",
                (Update(_ONLY_B),),
                ((DENY, "x/a", "*", "*"), (ALLOW, "x/a", "x/b", "*")),
            ),
        ],
    ),
    # --- client-side egress
    one_state(
        28,
        "client-egress-denies",
        "client-egress",
        [
            policy(
                "x",
                "to-y-a",
                {"pod": "a"},
                egress=[rule([peer({"pod": "a"}, ns_named("y"))], to=True)],
            ),
            policy(
                "y", "a-from-x-a", {"pod": "a"}, ingress=[rule([peer({"pod": "a"}, ns_named("x"))])]
            ),
            policy(
                "y", "b-from-x-a", {"pod": "b"}, ingress=[rule([peer({"pod": "a"}, ns_named("x"))])]
            ),
        ],
        [
            (DENY, "x/a", "*", "*"),
            (DENY, "*", "y/[ab]", "*"),
            (ALLOW, "x/a", "y/a", "*"),
        ],
    ),
    # --- several policies combined
    one_state(
        4,
        "deny-with-allow-for-target",
        "several-policies",
        [
            policy("x", "deny-ingress", ingress=IN_DENY),
            policy("x", "allow-a", {"pod": "a"}, ingress=[rule([peer({}, {})])]),
        ],
        [(DENY, "*", "x/*", "*"), (ALLOW, "*", "x/a", "*")],
    ),
    _changing(
        15,
        "stacked-policies",
        "several-policies",
        [
            State(
                "81-from-y",
                (Apply(_from_y_to_a_on(81)),),
                ((DENY, "*", "x/a", "*"), (ALLOW, "y/*", "x/a", "81/TCP")),
            ),
            State(
                "and-80-from-y",
                (Apply(_from_y_to_a_on(80)),),
                ((DENY, "*", "x/a", "*"), (ALLOW, "y/*", "x/a", "*")),
            ),
        ],
        ("80/TCP", "81/TCP"),
    ),
    _changing(
        31,
        "ingress-allow-all-wins",
        "several-policies",
        [
            State(
                "80-only",
                (Apply(policy("x", "in-80", ingress=[rule(ports=[port(80)])])),),
                ((DENY, "*", "x/*", "81/TCP"),),
            ),
            State("and-allow-all", (Apply(policy("x", "in-all", ingress=[rule()])),), ()),
        ],
        ("81/TCP",),
    ),
    _changing(
        32,
        "egress-allow-all-wins",
        "several-policies",
        [
            State(
                "80-only",
                (Apply(policy("x", "out-80", egress=[rule(ports=[port(80)], to=True)])),),
                ((DENY, "x/*", "*", "81/TCP"),),
            ),
            State("and-allow-all", (Apply(policy("x", "out-all", egress=[rule(to=True)])),), ()),
        ],
        ("81/TCP",),
    ),
    _changing(
        37,
        "ingress-egress-independent",
        "several-policies",
        [
            State(
                "egress-all",
                (Apply(policy("x", "a-out-all", {"pod": "a"}, egress=[rule(to=True)])),),
                (),
            ),
            State(
                "and-deny-ingress",
                (Apply(policy("x", "a-deny-in", {"pod": "a"}, ingress=IN_DENY)),),
                ((DENY, "*", "x/a", "*"),),
            ),
        ],
    ),
    # --- label updates
    _opened_by_label(
        21,
        "from-updated-namespace",
        peer(ns={"matchLabels": {"ns2": "updated"}}),
        Label("y", {"ns2": "updated"}),
        "y/*",
    ),
    _opened_by_label(
        22,
        "from-updated-pod",
        peer({"pod": "b", "pod2": "updated"}),
        Label("x/b", {"pod2": "updated"}),
        "x/b",
    ),
    _changing(
        24,
        "deny-to-updated-pod",
        "label-updates",
        [
            State(
                "policy",
                (Apply(policy("x", "isolate", {"target": "isolated"}, ingress=IN_DENY)),),
                (),
            ),
            State(
                "x-a-labelled",
                (Label("x/a", {"target": "isolated"}),),
                ((DENY, "*", "x/a", "*"),),
            ),
        ],
    ),
    # --- policy update and delete
    _changing(
        20,
        "updated-policy",
        "update-delete",
        [
            State("allow-all", (Apply(policy("x", "ingress", ingress=[rule()])),), ()),
            State(
                "updated-to-deny",
                (Update(policy("x", "ingress", ingress=IN_DENY)),),
                ((DENY, "*", "x/*", "*"),),
            ),
        ],
        ("81/TCP",),
    ),
    _changing(
        33,
        "deleted-policy",
        "update-delete",
        [
            State(
                "deny-all",
                (Apply(policy("x", "deny-all", ingress=IN_DENY, egress=IN_DENY)),),
                ((DENY, "*", "x/*", "*"), (DENY, "x/*", "*", "*")),
            ),
            State("deleted", (Delete("x", "deny-all"),), ()),
        ],
    ),
)
