"""The tutorial's steps and the common mistakes, as scenarios of states.

The walkthrough is one scenario: each state applies the next step's manifests on top of the
ones before, as a reader follows the tutorial. Each mistake is a scenario of one state. The
tables are written from the tutorial's prose, independently of the oracle; a test checks that
the oracle agrees with every one of them. Sources and destinations are ``namespace/pod`` globs,
the external host's name, or ``dns`` (a lookup through the cluster DNS service); ports are
globs on ``PORT/PROTOCOL`` (``5432/TCP``, ``53/*``, ``*``).
"""

from __future__ import annotations

from netpol_conformance.scenarios.model import (
    ALLOW,
    DENY,
    ApplyManifests,
    Scenario,
    State,
    TableRule,
)

S1 = "step-1-default-deny-ingress"
S2 = "step-2-allow-frontend-to-db"
S3 = "step-3-default-deny-egress"
S4 = "step-4-allow-external-db-egress"
S5 = "step-5-production-isolation"

_STEP1: tuple[TableRule, ...] = ((DENY, "*", "backend/*", "*"),)
_STEP2 = (*_STEP1, (ALLOW, "frontend/web", "backend/db", "5432/TCP"))
_STEP3 = (*_STEP2, (DENY, "backend/*", "*", "*"), (ALLOW, "backend/*", "dns", "*"))
_STEP4 = (*_STEP3, (ALLOW, "backend/db", "external-db", "5432/TCP"))
_STEP5 = (
    *_STEP4,
    (DENY, "production/*", "*", "*"),
    (DENY, "*", "production/*", "*"),
    (ALLOW, "production/*", "production/*", "*"),
    (ALLOW, "production/*", "dns", "*"),
    # allow-dns names no destination: port 53 is open to every pod that takes it in.
    (ALLOW, "production/*", "frontend/*", "53/*"),
)


def _step(state_id: str, folder: str | None, table: tuple[TableRule, ...]) -> State:
    return State(state_id, (ApplyManifests(folder),) if folder else (), table)


WALKTHROUGH = Scenario(
    "walkthrough",
    "tutorial",
    (
        _step("0-no-policies", None, ()),
        _step("1-default-deny-ingress", S1, _STEP1),
        _step("2-allow-frontend-to-db", S2, _STEP2),
        _step("3-default-deny-egress", S3, _STEP3),
        _step("4-allow-external-db-egress", S4, _STEP4),
        _step("5-production-isolation", S5, _STEP5),
    ),
)


def _mistake(state_id: str, folders: tuple[str, ...], table: tuple[TableRule, ...]) -> Scenario:
    return Scenario(
        state_id,
        "mistake",
        (State(state_id, tuple(ApplyManifests(f) for f in folders), table),),
    )


MISTAKES: tuple[Scenario, ...] = (
    _mistake(
        "forgot-dns-egress",
        ("mistakes/forgot-dns-egress",),
        ((DENY, "backend/*", "*", "*"),),
    ),
    _mistake(
        "or-instead-of-and",
        (S1, "mistakes/or-instead-of-and"),
        (
            *_STEP1,
            (ALLOW, "frontend/*", "backend/db", "5432/TCP"),
            (ALLOW, "backend/web", "backend/db", "5432/TCP"),
        ),
    ),
    _mistake(
        "egress-rules-without-policytypes",
        ("mistakes/egress-rules-without-policytypes",),
        ((DENY, "*", "backend/db", "*"),),
    ),
    # Ours, not the tutorial's: the except list covers the target, so db reaches nothing.
    _mistake(
        "except-covers-the-target",
        ("mistakes/except-covers-the-target",),
        ((DENY, "backend/db", "*", "*"),),
    ),
)
