"""What one scenario's probe matrix showed, readable by a person and by a machine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from netpol_conformance.cni import CniProfile
from netpol_conformance.convergence import Convergence
from netpol_conformance.probe.outcome import Observation, Outcome
from netpol_conformance.probe.spec import DNS, Probe
from netpol_conformance.report.truth_table import render_table
from netpol_conformance.tutorial.scenarios import Scenario

MARKS = {
    Outcome.CONNECTED: ".",
    Outcome.DNS_OK: ".",
    Outcome.TIMEOUT: "X",
    Outcome.DNS_FAIL: "X",
    Outcome.REFUSED: "R",
    Outcome.DNS_NEGATIVE: "N",
    Outcome.UNREACHABLE: "U",
    Outcome.EXEC_ERROR: "E",
}
LEGEND = (
    ". connected/resolved  X timed out/dns failed  R refused  N dns negative answer  "
    "U unreachable  E exec error  * differs"
)


@dataclass(frozen=True)
class CellView:
    probe: Probe
    expected: Outcome
    observed: Observation | None
    ok: bool
    history: tuple[Observation, ...]
    command: str


@dataclass
class MatrixReport:
    scenario: Scenario
    profile: CniProfile
    expected: Mapping[Probe, Outcome]
    state: Convergence[Probe]
    commands: Mapping[Probe, str]
    oracle_disagreements: list[str]

    @property
    def converged(self) -> bool:
        return self.state.converged

    def cell(self, probe: Probe) -> CellView:
        return CellView(
            probe=probe,
            expected=self.expected[probe],
            observed=self.state.last.get(probe),
            ok=self.state.met(probe),
            history=tuple(self.state.history(probe)),
            command=self.commands.get(probe, ""),
        )

    @property
    def failing(self) -> list[Probe]:
        return [p for p in self.expected if not self.state.met(p)]

    def tables(self, only_failing: bool = False) -> str:
        """Expected and observed truth tables, one pair per port (and one for DNS)."""
        groups: dict[str, list[Probe]] = {}
        for p in self.expected:
            group = "dns (nslookup)" if p.kind == DNS else f"{p.port}/{p.protocol}"
            groups.setdefault(group, []).append(p)
        out = []
        for group, probes in groups.items():
            if only_failing and all(self.state.met(p) for p in probes):
                continue
            rows = list(dict.fromkeys(p.source for p in probes))
            targets = {p.target for p in probes}
            cols = [r for r in rows if r in targets]
            cols += sorted(targets - set(cols))
            by_cell = {(p.source, p.target): p for p in probes}

            def exp(r: str, c: str, by_cell: dict = by_cell) -> str:
                p = by_cell.get((r, c))
                return MARKS[self.expected[p]] if p else "-"

            def obs(r: str, c: str, by_cell: dict = by_cell) -> str:
                p = by_cell.get((r, c))
                if not p:
                    return "-"
                seen = self.state.last.get(p)
                mark = MARKS[seen.outcome] if seen else "?"
                return mark if self.state.met(p) else f"{mark}*"

            out.append(render_table(f"{group} expected", rows, cols, exp))
            out.append(render_table(f"{group} observed", rows, cols, obs))
        return "\n".join(out)

    def failure_summary(self, limit: int = 12) -> str:
        polls = len(self.state.polls)
        head = (
            f"{self.scenario.id} on {self.profile.name} ({self.profile.deny_style} on deny): "
            f"{len(self.failing)} of {len(self.expected)} probes not as expected after "
            f"{polls} poll{'s' if polls != 1 else ''}"
        )
        lines = [head, LEGEND, self.tables(only_failing=True)]
        if self.state.flapping:
            lines.append("flapping: " + ", ".join(p.label for p in self.state.flapping))
        for p in self.failing[:limit]:
            c = self.cell(p)
            lines.append(
                f"  {p.label}: expected {c.expected.value}, observed {c.observed}\n"
                f"    probe: {c.command}"
            )
        if len(self.failing) > limit:
            lines.append(f"  ... and {len(self.failing) - limit} more")
        return "\n".join(lines)
