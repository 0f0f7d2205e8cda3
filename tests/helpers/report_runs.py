"""Realistic run records made by hand: the tutorial's 7 pods, several steps, every probe.

``make_run`` plays a run of the tutorial on a CNI that behaves as its profile says, unless a
``fault`` says otherwise for some probes. The expectation tables here are written for these
tests, independently of the suite's own catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from fnmatch import fnmatchcase

from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.probe.spec import DNS, TCP, Probe
from netpol_conformance.results.records import (
    CROSS_NODE,
    DNS_PATH,
    EXTERNAL,
    SAME_NODE,
    ClusterRecord,
    CniRecord,
    NodeRecord,
    ProbeRecord,
    RunRecord,
    StepResult,
    TestRecord,
)

PODS = (
    "frontend/web",
    "frontend/admin",
    "backend/db",
    "backend/cache",
    "backend/web",
    "production/web",
    "production/api",
)
EXTERNAL_HOST = "external-db"
DNS_NAME = "kubernetes.default.svc.cluster.local"
NODES = (
    NodeRecord("node-a", PODS[:4]),
    NodeRecord("node-b", PODS[4:]),
)

# (verdict, source glob, destination glob, port glob): the last match wins, all allowed first.
Rules = tuple[tuple[str, str, str, str], ...]
_S1: Rules = (("deny", "*", "backend/*", "*"),)
_S2: Rules = (*_S1, ("allow", "frontend/web", "backend/db", "5432"))
_S3: Rules = (*_S2, ("deny", "backend/*", "*", "*"), ("allow", "backend/*", "dns", "*"))
STEPS: dict[str, Rules] = {
    "0-no-policies": (),
    "1-default-deny-ingress": _S1,
    "2-allow-frontend-to-db": _S2,
    "3-default-deny-egress": _S3,
    "forgot-dns-egress": (("deny", "backend/*", "*", "*"),),
}
POLICY = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "default-deny-ingress", "namespace": "backend"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
}

# A fault: (scenario, probe, expected outcome) -> what the broken CNI shows instead, or None.
Fault = Callable[[str, Probe, Outcome], Outcome | None]


def allowed(rules: Rules, probe: Probe) -> bool:
    verdict = True
    for v, src, dst, port in rules:
        if (
            fnmatchcase(probe.source, src)
            and fnmatchcase(probe.target, dst)
            and fnmatchcase(str(probe.port), port)
        ):
            verdict = v == "allow"
    return verdict


def probes() -> list[Probe]:
    out: list[Probe] = []
    for src in PODS:
        for dst in PODS:
            if dst != src:
                out += [Probe(src, TCP, dst, port) for port in (80, 5432)]
        out += [Probe(src, TCP, EXTERNAL_HOST, port) for port in (80, 5432)]
        out.append(Probe(src, DNS, "dns", 53, "UDP", DNS_NAME))
    return out


def expected(probe: Probe, is_allowed: bool, enforces: bool, deny_style: str) -> Outcome:
    is_allowed = is_allowed or not enforces
    if probe.kind == DNS:
        return Outcome.DNS_OK if is_allowed else Outcome.DNS_FAIL
    if is_allowed:
        return Outcome.CONNECTED
    return Outcome.TIMEOUT if deny_style == "drop" else Outcome.REFUSED


def _path(probe: Probe) -> str:
    if probe.kind == DNS:
        return DNS_PATH
    if probe.target == EXTERNAL_HOST:
        return EXTERNAL
    node = {p: n.name for n in NODES for p in n.pods}
    return SAME_NODE if node[probe.source] == node[probe.target] else CROSS_NODE


def _detail(outcome: Outcome) -> str:
    return {
        Outcome.CONNECTED: "",
        Outcome.TIMEOUT: "curl: (28) Connection timed out after 2002 milliseconds",
        Outcome.REFUSED: "curl: (7) Failed to connect to 10.244.1.7 port 80: Connection refused",
        Outcome.DNS_OK: "10.96.0.1",
        Outcome.DNS_FAIL: ";; connection timed out; no servers could be reached",
        Outcome.DNS_NEGATIVE: "** server can't find kubernetes.default: NXDOMAIN",
        Outcome.UNREACHABLE: "connect to 10.244.1.7 port 80 failed: Network is unreachable",
        Outcome.EXEC_ERROR: 'error: unable to upgrade connection: container "probe" not found',
        Outcome.UNSUPPORTED: "socat[7] E socket(2, 1, 132): Protocol not supported",
    }[outcome]


def _command(probe: Probe) -> str:
    ns, pod = probe.source.split("/")
    if probe.kind == DNS:
        return f"kubectl exec -n {ns}-x3k9q {pod} -c probe -- dig +time=2 {probe.name}"
    return (
        f"kubectl exec -n {ns}-x3k9q {pod} -c probe -- curl -sS -o /dev/null "
        f"--connect-timeout 2 --max-time 2 http://{probe.target}:{probe.port}/"
    )


def make_step(
    scenario: str,
    *,
    step: str | None = None,
    enforces: bool = True,
    deny_style: str = "drop",
    fault: Fault | None = None,
    time_to_enforce: float | None = 1.4,
    deviations: dict[str, str] | None = None,
) -> StepResult:
    rules = STEPS[scenario]
    records = []
    for probe in probes():
        want = expected(probe, allowed(rules, probe), enforces, deny_style)
        seen = (fault(scenario, probe, want) if fault else None) or want
        observation = Observation(seen, _detail(seen))
        met = seen is want
        history = (Observation(Outcome.CONNECTED, ""), observation, observation)
        records.append(
            ProbeRecord(
                probe=probe,
                expected=want,
                observed=observation,
                met=met,
                history=history if scenario != "0-no-policies" else history[1:],
                command=_command(probe),
                evidence="listening: nginx on 0.0.0.0:80" if seen is Outcome.REFUSED else "",
                path=_path(probe),
                deviation=(deviations or {}).get(probe.label, "") if not met else "",
            )
        )
    converged = all(r.met or r.deviation for r in records)
    return StepResult(
        scenario=scenario,
        step=step or scenario,
        policies=(POLICY,) if rules else (),
        probes=tuple(records),
        converged=converged,
        polls=3 if converged else 40,
        time_to_enforce=time_to_enforce if converged else None,
        phases={"apply": 0.21, "converge": 2.5},
    )


def make_run(
    *,
    cni: str = "calico",
    enforces: bool = True,
    deny_style: str = "drop",
    version: str = "v3.29.3",
    kubernetes: str = "v1.34.4",
    fault: Fault | None = None,
    scenarios: tuple[str, ...] = tuple(STEPS),
    time_to_enforce: dict[str, float] | None = None,
    deviations: dict[str, str] | None = None,
    setup_errors: dict[str, str] | None = None,
) -> RunRecord:
    steps = tuple(
        make_step(
            s,
            enforces=enforces,
            deny_style=deny_style,
            fault=fault,
            time_to_enforce=(time_to_enforce or {}).get(s, 1.4),
            deviations=deviations,
        )
        for s in scenarios
        if s not in (setup_errors or {})
    )
    tests = tuple(
        TestRecord(
            nodeid=f"suites/test_tutorial.py::test_step[{s.scenario}][{p.probe.label}="
            f"{p.expected.value}]",
            outcome="passed" if p.met else ("xfailed" if p.deviation else "failed"),
            duration=0.01,
            scenario=s.scenario,
            message="" if p.met else f"expected {p.expected.value}, observed {p.observed}",
            properties={"probe": p.probe.label, "expected": p.expected.value},
        )
        for s in steps
        for p in s.probes
    )
    tests += (TestRecord("suites/test_preflight.py::test_cni_runs", "passed", 0.3),)
    failed = any(t.outcome == "failed" for t in tests) or bool(setup_errors)
    return RunRecord(
        suite_version="0.1.0",
        started="2026-11-25T10:00:00+00:00",
        finished="2026-11-25T10:01:37+00:00",
        status="failed" if failed else "passed",
        options={"cluster": "local", "cni": cni, "probe_timeout": 2.0, "workers": 2},
        cluster=ClusterRecord("local", kubernetes, "", NODES),
        cni=CniRecord(cni, enforces, deny_style, version),
        steps=steps,
        setup_errors=dict(setup_errors or {}),
        tests=tests,
    )


def no_enforcement_on(scenario: str, source: str) -> Fault:
    """A fault: every deny of ``source``'s probes in ``scenario`` gets through."""

    def fault(s: str, probe: Probe, want: Outcome) -> Outcome | None:
        if s != scenario or probe.source != source:
            return None
        return {
            Outcome.TIMEOUT: Outcome.CONNECTED,
            Outcome.REFUSED: Outcome.CONNECTED,
            Outcome.DNS_FAIL: Outcome.DNS_OK,
        }.get(want)

    return fault


def blocks(scenario: str, labels: set[str], outcome: Outcome = Outcome.TIMEOUT) -> Fault:
    """A fault: these probes of ``scenario`` observe ``outcome`` instead."""

    def fault(s: str, probe: Probe, want: Outcome) -> Outcome | None:
        return outcome if s == scenario and probe.label in labels else None

    return fault


def with_status(run: RunRecord, status: str) -> RunRecord:
    return replace(run, status=status)
