"""The tutorial's steps and common mistakes, each with a hand-written expectation table.

The tables are written from the tutorial's prose, independently of the oracle; a test checks
that the oracle agrees with every one of them. A table is a list of rules read top to bottom,
the last matching rule wins, and everything starts allowed (Kubernetes' default):

    ("deny",  "*",            "backend/*", "*")     nothing reaches backend
    ("allow", "frontend/web", "backend/db", "5432")  ... except web -> db on 5432

Sources and destinations are ``namespace/pod`` globs, the external host's name, or ``dns``
(a DNS lookup through the cluster DNS service). Ports are globs on ``PORT/PROTOCOL``
(``5432/TCP``, ``53/*``, ``*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

ALLOW = "allow"
DENY = "deny"

TableRule = tuple[str, str, str, str]


@dataclass(frozen=True)
class Scenario:
    id: str
    folders: tuple[str, ...]  # manifest folders applied in this order
    table: tuple[TableRule, ...]
    group: str = "step"  # "step" or "mistake"
    uses_external: bool = False
    # A scenario whose tests also read this one: both run on the same worker, so that neither
    # is put in force twice in one run (and a run's steps do not depend on the scheduling).
    runs_with: str | None = None

    @property
    def marker(self) -> str:
        """The pytest marker of the scenario's group: ``step2``, ``mistake``."""
        return f"step{self.id.split('-')[0]}" if self.group == "step" else self.group

    def expect_allowed(self, src: str, dst: str, port: int, protocol: str = "TCP") -> bool:
        allowed = True
        port_key = f"{port}/{protocol}"
        for verdict, s, d, p in self.table:
            if fnmatchcase(src, s) and fnmatchcase(dst, d) and fnmatchcase(port_key, p):
                allowed = verdict == ALLOW
        return allowed


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

S1 = "step-1-default-deny-ingress"
S2 = "step-2-allow-frontend-to-db"
S3 = "step-3-default-deny-egress"
S4 = "step-4-allow-external-db-egress"
S5 = "step-5-production-isolation"

STEPS: tuple[Scenario, ...] = (
    Scenario("0-no-policies", (), ()),
    Scenario("1-default-deny-ingress", (S1,), _STEP1),
    Scenario("2-allow-frontend-to-db", (S1, S2), _STEP2),
    Scenario("3-default-deny-egress", (S1, S2, S3), _STEP3),
    Scenario(
        "4-allow-external-db-egress",
        (S1, S2, S3, S4),
        _STEP4,
        uses_external=True,
    ),
    Scenario(
        "5-production-isolation",
        (S1, S2, S3, S4, S5),
        _STEP5,
    ),
)

MISTAKES: tuple[Scenario, ...] = (
    Scenario(
        "forgot-dns-egress",
        ("mistakes/forgot-dns-egress",),
        ((DENY, "backend/*", "*", "*"),),
        group="mistake",
    ),
    Scenario(
        "or-instead-of-and",
        (S1, "mistakes/or-instead-of-and"),
        (
            *_STEP1,
            (ALLOW, "frontend/*", "backend/db", "5432/TCP"),
            (ALLOW, "backend/web", "backend/db", "5432/TCP"),
        ),
        group="mistake",
        runs_with="2-allow-frontend-to-db",  # test_or_variant_lets_more_in_than_and
    ),
    Scenario(
        "egress-rules-without-policytypes",
        ("mistakes/egress-rules-without-policytypes",),
        ((DENY, "*", "backend/db", "*"),),
        group="mistake",
    ),
    # Ours, not the tutorial's: the except list covers the target, so db reaches nothing.
    Scenario(
        "except-covers-the-target",
        ("mistakes/except-covers-the-target",),
        ((DENY, "backend/db", "*", "*"),),
        group="mistake",
        uses_external=True,
    ),
)

ALL: tuple[Scenario, ...] = STEPS + MISTAKES
BY_ID = {s.id: s for s in ALL}
# The tutorial's last step: every namespace isolated, with the steps before it in force under it.
FINAL_STATE = STEPS[-1].id


# The tutorial's steps that put no policy state in force: their tests read the others' results.
STEPS_WITHOUT_STATE = {"step6": 'tutorial step 6, "Verify Your Policies" (suites/test_verify.py)'}


def markers() -> dict[str, str]:
    """Every pytest marker of the catalogue's scenarios and of the tutorial's steps without a
    state of their own, with what it selects."""
    found: dict[str, str] = {}
    for s in ALL:
        what = f"tutorial step {s.id}" if s.group == "step" else f"the {s.group} scenarios"
        found.setdefault(s.marker, what)
    return {**found, **STEPS_WITHOUT_STATE}
