"""Per-process cache of scenario environments: each scenario is built once, then read by
every test of that scenario, and torn down at the end of the session."""

from __future__ import annotations

from collections.abc import Callable

from netpol_conformance.cluster.base import Backend
from netpol_conformance.cni import CniProfile
from netpol_conformance.environment import Environment, RunOptions
from netpol_conformance.errors import ConformanceError
from netpol_conformance.report.matrix import MatrixReport
from netpol_conformance.tutorial.layout import Layout
from netpol_conformance.tutorial.scenarios import Scenario


class ScenarioBook:
    def __init__(
        self,
        backend: Backend,
        layout: Layout,
        profile: CniProfile,
        options: RunOptions,
        run_id: str,
        progress: Callable[[str], None],
    ) -> None:
        self.backend = backend
        self.layout = layout
        self.profile = profile
        self.options = options
        self.run_id = run_id
        self.progress = progress
        self._envs: dict[str, Environment] = {}
        self._reports: dict[str, MatrixReport] = {}
        self._errors: dict[str, ConformanceError] = {}
        self.tables_shown: set[str] = set()  # scenarios whose failure tables were printed
        self.errors_shown: set[str] = set()  # scenarios whose set-up error was printed

    def environment(self, name: str) -> Environment:
        if name not in self._envs:
            self._envs[name] = Environment(
                self.backend,
                self.layout,
                self.profile,
                self.options,
                self.run_id,
                name,
                self.progress,
            )
        return self._envs[name]

    def report(self, scenario: Scenario) -> MatrixReport:
        """Build the scenario's own namespaces from scratch, apply it, and observe it."""
        if scenario.id in self._errors:
            raise self._errors[scenario.id]
        if scenario.id not in self._reports:
            env = self.environment(scenario.id)
            try:
                env.create()
                if scenario.folders:  # the open scenario is its own baseline
                    env.baseline()
                self._reports[scenario.id] = env.apply_scenario(scenario)
            except ConformanceError as exc:
                self._errors[scenario.id] = exc
                raise
        return self._reports[scenario.id]

    def close(self) -> None:
        for env in self._envs.values():
            try:
                env.destroy()
            except ConformanceError as exc:
                self.progress(f"could not delete the namespaces of {env.name}: {exc}")
        self._envs.clear()
