"""Kubernetes' own NetworkPolicy e2e specs (test/e2e/network/netpol), by their order in
network_policy.go (1-48) and network_policy_api.go (49-50), with the family each belongs to.
The catalogue mirrors every one; a test fails when one has no scenario."""

from __future__ import annotations

FAMILIES = {
    "deny-allow-all": "default deny and allow-all",
    "pod-selector": "pod selector",
    "namespace-selector": "namespace selector",
    "pod-and-namespace": "pod AND namespace in one peer",
    "or-of-peers": "OR of peers",
    "ports": "ports and named ports",
    "protocols": "protocols",
    "ip-block": "ipBlock and except",
    "client-egress": "client-side egress",
    "several-policies": "several policies combined",
    "label-updates": "label updates",
    "update-delete": "policy update and delete",
    "new-pods": "pods created after the policies",
    "api": "the NetworkPolicy API",
}

# number: (family, what it checks, in short)
SPECS: dict[int, tuple[str, str]] = {
    1: ("deny-allow-all", "default-deny-ingress"),
    2: ("deny-allow-all", "default-deny-all"),
    3: ("pod-selector", "allow from pods in the server's namespace by pod selector"),
    4: ("several-policies", "default-deny-ingress with an allow for one target"),
    5: ("namespace-selector", "ingress from pods in all namespaces"),
    6: ("namespace-selector", "only from another namespace, by namespace selector"),
    7: ("pod-selector", "pod selector with matchExpressions"),
    8: ("namespace-selector", "namespace selector with matchExpressions"),
    9: ("or-of-peers", "pod selector OR namespace selector"),
    10: ("pod-and-namespace", "pod selector AND namespace selector"),
    11: ("pod-and-namespace", "several pod and namespace selectors (AND)"),
    12: ("pod-selector", "any of several pod selectors"),
    13: ("pod-and-namespace", "only from one pod of another namespace (both selectors)"),
    14: ("ports", "by port"),
    15: ("several-policies", "stacked policies with overlapping pod selectors"),
    16: ("deny-allow-all", "allow-all"),
    17: ("ports", "ingress on one named port"),
    18: ("ports", "ingress from a namespace on one named port"),
    19: ("ports", "egress on one named port"),
    20: ("update-delete", "an updated policy is enforced"),
    21: ("label-updates", "ingress from a namespace whose labels were updated"),
    22: ("label-updates", "ingress from a pod whose labels were updated"),
    23: ("pod-selector", "deny ingress from other namespaces"),
    24: ("label-updates", "deny ingress to a pod whose labels were updated"),
    25: ("deny-allow-all", "deny egress by pod selector"),
    26: ("deny-allow-all", "deny egress from every pod of a namespace"),
    27: ("ports", "ingress and egress in one policy"),
    28: ("client-egress", "client-side egress deny despite a server allow"),
    29: ("pod-and-namespace", "egress to one pod of another namespace (both selectors)"),
    30: ("protocols", "any port of one protocol"),
    31: ("several-policies", "ingress allow-all wins over a narrower policy"),
    32: ("several-policies", "egress allow-all wins over a narrower policy"),
    33: ("update-delete", "a deleted policy stops being enforced"),
    34: ("ip-block", "egress to a CIDR block"),
    35: ("ip-block", "except in a CIDR block"),
    36: ("ip-block", "an address in both the CIDR and its except, then updated"),
    37: ("several-policies", "ingress and egress controlled independently"),
    38: ("protocols", "protocol SCTP is not TCP"),
    39: ("protocols", "a pod selected by an SCTP-only policy is isolated"),
    40: ("protocols", "no TCP when the policy allows only UDP"),
    41: ("namespace-selector", "namespace matchLabels on the default name label"),
    42: ("namespace-selector", "namespace matchExpressions on the default name label (egress)"),
    43: ("deny-allow-all", "default-deny-ingress over UDP"),
    44: ("ports", "by port over UDP"),
    45: ("pod-and-namespace", "only from one pod of another namespace over UDP"),
    46: ("deny-allow-all", "default-deny-ingress over SCTP"),
    47: ("ports", "by port over SCTP"),
    48: ("pod-and-namespace", "only from one pod of another namespace over SCTP"),
    49: ("api", "NetworkPolicy API operations (create, get, list, watch, patch, update, delete)"),
    50: ("api", "the API server's validation of endPort"),
}

CONNECTIVITY = tuple(n for n, (family, _) in SPECS.items() if family != "api")
API = tuple(n for n, (family, _) in SPECS.items() if family == "api")

# The API specs are tests, not scenarios of states: spec number -> its test, in the suite's
# module API_SUITE (in the checkout's folder of suites).
API_SUITE = "test_catalogue_api.py"
API_TESTS = {
    49: "test_upstream_49_networkpolicy_api_operations",
    50: "test_upstream_50_endport_validation",
}
