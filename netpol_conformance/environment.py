"""One isolated copy of the tutorial on a cluster: its namespaces, pods, policies and probes.

An environment renders the topology with a unique suffix, waits for its pods, proves that the
servers answer before any policy exists (so that a slow pod is never mistaken for a deny),
then applies a scenario's manifests and polls the probe matrix until it converges.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from netpol_conformance.cluster.base import RUN_LABEL, Backend, PodState
from netpol_conformance.cni import CniProfile
from netpol_conformance.convergence import Convergence, converge
from netpol_conformance.errors import SetupError
from netpol_conformance.expectations import expected_outcome, meets
from netpol_conformance.model.topology import External, Namespace, Pod, Port, Topology
from netpol_conformance.policy.oracle import Oracle
from netpol_conformance.policy.parse import parse_policies
from netpol_conformance.probe.commands import ProbeSettings
from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.probe.runner import ProbeRunner
from netpol_conformance.probe.spec import DNS, TCP, Probe, ProbeTarget
from netpol_conformance.report.matrix import MatrixReport
from netpol_conformance.tutorial.layout import DNS_TARGET, Layout
from netpol_conformance.tutorial.render import SCENARIO_LABEL, Renderer, new_suffix
from netpol_conformance.tutorial.scenarios import STEPS, Scenario

log = logging.getLogger("netpol_conformance")

DNS_POD = "kube-system/coredns"
_DNS_POD_IP = "192.0.2.53"  # stands for CoreDNS in the oracle; only its namespace matters


@dataclass
class RunOptions:
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    enforce_timeout: float = 60.0
    poll_interval: float = 1.0
    pod_ready_timeout: float = 300.0
    images: dict[str, str] = field(default_factory=dict)
    pull_policy: str | None = None


def matrix_ports(layout: Layout) -> list[int]:
    """The TCP ports the matrix probes on every pod. The servers also answer TCP/UDP 53 and
    UDP 5432, which join the matrix with the scenario table rows that predict them."""
    return [p.port for p in layout.server_ports if p.protocol == "TCP" and p.port != 53]


def scenario_probes(layout: Layout, with_external: bool) -> list[Probe]:
    """Every probe of the tutorial matrix, in logical names."""
    probes: list[Probe] = []
    for src in layout.pods:
        for dst in layout.pods:
            if dst != src:
                probes += [Probe(src.key, TCP, dst.key, port) for port in matrix_ports(layout)]
        if with_external:
            probes += [Probe(src.key, TCP, layout.external_name, p) for p in layout.external_ports]
        probes.append(Probe(src.key, DNS, DNS_TARGET, 53, "UDP", layout.dns_name))
    return probes


def expected_outcomes(
    scenario: Scenario, probes: Sequence[Probe], profile: CniProfile
) -> dict[Probe, Outcome]:
    return {
        p: expected_outcome(p.kind, scenario.expect_allowed(p.source, p.target, p.port), profile)
        for p in probes
    }


class Environment:
    def __init__(
        self,
        backend: Backend,
        layout: Layout,
        profile: CniProfile,
        options: RunOptions,
        run_id: str,
        name: str,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.backend = backend
        self.layout = layout
        self.profile = profile
        self.options = options
        self.run_id = run_id
        self.name = name
        self.progress = progress or log.info
        external = backend.info.external
        self.renderer = Renderer(
            layout,
            suffix=new_suffix(),
            run_id=run_id,
            scenario=name,
            images=options.images,
            pull_policy=options.pull_policy,
            external_ip=external.ip if external else None,
        )
        self.runner = ProbeRunner(backend, options.probe)
        self.probes = scenario_probes(layout, with_external=external is not None)
        self.pods: dict[str, PodState] = {}
        self.applied: list[str] = []
        self.applied_policies: list[dict] = []
        self.reports: list[MatrixReport] = []
        self._answered_before_policies: set[tuple[str, int]] = set()

    # --- life cycle

    @property
    def label_selector(self) -> str:
        return f"{RUN_LABEL}={self.run_id},{SCENARIO_LABEL}={self.renderer.scenario_label}"

    def create(self) -> None:
        self.backend.apply(self.renderer.namespaces())
        self.backend.apply(self.renderer.pods())
        self._wait_for_pods()

    def destroy(self) -> None:
        self.backend.delete_namespaces(self.label_selector)

    def __enter__(self) -> Environment:
        try:
            self.create()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def _wait_for_pods(self) -> None:
        wanted = {
            f"{self.renderer.namespace(p.namespace)}/{p.name}": p.key for p in self.layout.pods
        }
        namespaces = list(self.renderer.namespace_map.values())
        deadline = time.monotonic() + self.options.pod_ready_timeout
        last_note = 0.0
        while True:
            states = {f"{s.namespace}/{s.name}": s for s in self.backend.pods(namespaces)}
            ready = {k: s for k, s in states.items() if k in wanted and s.ready and s.ip}
            if len(ready) == len(wanted):
                self.pods = {wanted[k]: s for k, s in ready.items()}
                return
            now = time.monotonic()
            if now > deadline:
                waiting = [
                    f"{k} ({states[k].phase or 'Pending'}: {states[k].message or 'not ready'})"
                    if k in states
                    else f"{k} (not created)"
                    for k in wanted
                    if k not in ready
                ]
                raise SetupError(
                    f"pods not ready after {self.options.pod_ready_timeout:.0f}s: "
                    + "; ".join(waiting)
                    + ". Check the images (--server-image/--probe-image) and the CNI."
                )
            if now - last_note > 10:
                self.progress(f"{self.name}: waiting for pods ({len(ready)}/{len(wanted)} ready)")
                last_note = now
            time.sleep(0.5)

    # --- what the oracle sees

    def topology(self) -> Topology:
        ports = tuple(Port(p.port, p.protocol, p.name) for p in self.layout.server_ports)
        pods = [
            Pod(
                self.renderer.namespace(lp.namespace),
                lp.name,
                ipaddress.ip_address(self.pods[lp.key].ip),
                dict(lp.labels),
                ports,
            )
            for lp in self.layout.pods
        ]
        pods.append(
            Pod(
                "kube-system",
                "coredns",
                ipaddress.ip_address(_DNS_POD_IP),
                {"k8s-app": "kube-dns"},
                (Port(53, "UDP"), Port(53, "TCP")),
            )
        )
        namespaces = [Namespace(n) for n in self.renderer.namespace_map.values()]
        namespaces.append(Namespace("kube-system"))
        externals = []
        ext = self.backend.info.external
        if ext is not None:
            ext_ports = tuple(Port(p) for p in self.layout.external_ports)
            externals.append(
                External(self.layout.external_name, ipaddress.ip_address(ext.ip), ext_ports)
            )
        return Topology(tuple(namespaces), tuple(pods), tuple(externals))

    def oracle_disagreements(self, scenario: Scenario) -> list[str]:
        """Cells where the oracle, run on the rendered policies, contradicts the table."""
        policies = parse_policies(
            [(f"{scenario.id}[{i}]", d) for i, d in enumerate(self.applied_policies)]
        )
        oracle = Oracle(self.topology(), policies)
        out = []
        for p in self.probes:
            src = self._rendered_key(p.source)
            if p.kind == DNS:
                verdict = oracle.explain(src, DNS_POD, 53, "UDP")
            else:
                verdict = oracle.explain(src, self._rendered_key(p.target), p.port, p.protocol)
            table = scenario.expect_allowed(p.source, p.target, p.port)
            if verdict.allowed != table:
                out.append(
                    f"{p.label}: table says {'allowed' if table else 'denied'}, "
                    f"oracle says {verdict.reason}"
                )
        return out

    def _rendered_key(self, logical: str) -> str:
        ns, sep, name = logical.partition("/")
        return f"{self.renderer.namespace(ns)}/{name}" if sep else logical

    # --- probing

    def target(self, probe: Probe) -> ProbeTarget:
        src = self.pods[probe.source]
        if probe.kind == DNS:
            return ProbeTarget(probe, src.namespace, src.name)
        if probe.target == self.layout.external_name:
            ext = self.backend.info.external
            assert ext is not None
            return ProbeTarget(probe, src.namespace, src.name, ext.ip)
        return ProbeTarget(probe, src.namespace, src.name, self.pods[probe.target].ip)

    def poll(self) -> dict[Probe, Observation]:
        return self.runner.run([self.target(p) for p in self.probes])

    def listening(self, probe: Probe) -> bool | None:
        """Control evidence that a refusal is a deny: the server does accept on that port."""
        if probe.target in self.pods:
            dst = self.pods[probe.target]
            return self.runner.listening(dst.namespace, dst.name, probe.port)
        # No pod to exec in: the external host answered on that port before any policy.
        return (probe.target, probe.port) in self._answered_before_policies

    def judge(
        self, expected: dict[Probe, Outcome]
    ) -> Callable[[dict[Probe, Observation]], dict[Probe, bool]]:
        def verdicts(observed: dict[Probe, Observation]) -> dict[Probe, bool]:
            out = {}
            for p, exp in expected.items():
                obs = observed[p]
                listening = (
                    self.listening(p)
                    if obs.outcome is Outcome.REFUSED and exp is Outcome.REFUSED
                    else None
                )
                out[p] = meets(exp, obs, listening)
            return out

        return verdicts

    def _converge(self, scenario: Scenario, started: float) -> Convergence[Probe]:
        expected = expected_outcomes(scenario, self.probes, self.profile)

        def note(state: Convergence[Probe]) -> None:
            bad = sum(1 for ok in state.verdicts[-1].values() if not ok)
            if bad and len(state.polls) % 5 == 0:
                self.progress(
                    f"{self.name}: {scenario.id}: poll {len(state.polls)}, "
                    f"{bad} cells not yet as expected"
                )

        state = converge(
            self.poll,
            self.judge(expected),
            self.options.enforce_timeout,
            self.options.poll_interval,
            started=started,
            on_poll=note,
        )
        if not self.applied:
            # Before any policy: remember which destinations answered, the control evidence
            # for refusals from hosts we cannot exec into.
            self._answered_before_policies = {
                (p.target, p.port)
                for p, obs in state.last.items()
                if p.kind == TCP and obs.outcome is Outcome.CONNECTED
            }
        return state

    def baseline(self) -> MatrixReport:
        """Before any policy: every server answers and DNS works, or nothing else is meaningful."""
        open_scenario = STEPS[0]
        started = time.monotonic()
        state = self._converge(open_scenario, started)
        report = self._report(open_scenario, state)
        if not state.converged:
            raise SetupError(
                "the pods cannot reach each other before any policy is applied, so no verdict "
                "would mean anything:\n" + report.failure_summary()
            )
        return report

    def apply_scenario(self, scenario: Scenario) -> MatrixReport:
        """Apply what ``scenario`` adds to what is applied, then poll until it is enforced."""
        missing = [f for f in scenario.folders if f not in self.applied]
        if self.applied != list(scenario.folders[: len(self.applied)]):
            raise ValueError(f"{scenario.id} does not extend {self.applied}")
        docs = self.renderer.policies(missing)
        started = time.monotonic()
        if docs:
            self.backend.apply(docs)
        self.applied += missing
        self.applied_policies += docs
        state = self._converge(scenario, started)
        report = self._report(scenario, state)
        self.reports.append(report)
        return report

    def remove_policies(self) -> MatrixReport:
        """Delete every policy applied so far, then poll until everything is open again."""
        started = time.monotonic()
        if self.applied_policies:
            self.backend.delete(self.applied_policies)
        self.applied, self.applied_policies = [], []
        state = self._converge(STEPS[0], started)
        report = self._report(STEPS[0], state)
        self.reports.append(report)
        return report

    def _report(self, scenario: Scenario, state: Convergence[Probe]) -> MatrixReport:
        expected = expected_outcomes(scenario, self.probes, self.profile)
        return MatrixReport(
            scenario=scenario,
            profile=self.profile,
            expected=expected,
            state=state,
            commands={p: self.runner.command(self.target(p)) for p in self.probes},
            oracle_disagreements=self.oracle_disagreements(scenario) if self.pods else [],
        )
