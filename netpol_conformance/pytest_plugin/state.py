"""What one pytest process (the only one, or an xdist worker) holds for the suite."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import NoReturn

import pytest

from netpol_conformance.cluster.base import Backend
from netpol_conformance.deviations import deviations_for
from netpol_conformance.errors import ConformanceError, StepSetupError
from netpol_conformance.plan.catalogue import BY_ID
from netpol_conformance.plan.layout import CATALOGUE_MANIFESTS, load_layout
from netpol_conformance.plan.plan import SuitePlan, build_plan
from netpol_conformance.pytest_plugin import store
from netpol_conformance.pytest_plugin.session import SuiteSession
from netpol_conformance.pytest_plugin.store import ProcessResults
from netpol_conformance.report.truth_tables import failure_summary
from netpol_conformance.results.records import StepResult
from netpol_conformance.run.catalogue import CatalogueRunner
from netpol_conformance.run.scenarios import ScenarioRunner
from netpol_conformance.scenarios import catalogue as scenario_catalogue
from netpol_conformance.settings import SuiteSettings


def error_text(exc: ConformanceError) -> str:
    """The error as a person reads it: with the truth tables of the step it comes from."""
    if isinstance(exc, StepSetupError) and isinstance(exc.result, StepResult):
        return f"{exc}:\n{failure_summary(exc.result)}"
    return str(exc)


@dataclass
class Attempt:
    """A value or the error that prevented it; never raises, so pytest caches no traceback."""

    value: object = None
    error: ConformanceError | None = None
    reported: bool = False


@dataclass
class ProcessState:
    settings: SuiteSettings
    session: SuiteSession
    name: str  # "main", or the xdist worker id
    tables_shown: set[str] = field(default_factory=set)  # scenarios whose tables were printed
    errors_shown: set[int] = field(default_factory=set)  # ids of the errors already reported
    _runner: ScenarioRunner | None = None
    _catalogue: CatalogueRunner | None = None

    def __post_init__(self) -> None:
        # Expected deviations of the CNI: read up front, so that a bad file stops the run.
        self.deviations = deviations_for(
            self.settings.profile.name,
            self.settings.manifests,
            scenarios=set(BY_ID) | set(scenario_catalogue.BY_ID),
        )

    @cached_property
    def plan(self) -> SuitePlan:
        s = self.settings
        return build_plan(load_layout(s.manifests), s.profile, s.has_external)

    def report_error(self, exc: ConformanceError) -> NoReturn:
        """Fail with the error in full the first time, then skip with a pointer to it. A
        runner raises the very same error object again for everything it prevents."""
        if id(exc) in self.errors_shown:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            pytest.skip(f"could not be set up (reported above): {first[:200]}")
        self.errors_shown.add(id(exc))
        pytest.fail(error_text(exc), pytrace=False)

    def connect(self) -> Attempt:
        try:
            return Attempt(self.session.backend())
        except ConformanceError as exc:
            return Attempt(error=exc)

    def _deviations_on(self, backend: Backend) -> None:
        """Keep the deviations of the release the cluster runs (once it is known)."""
        self.deviations = self.deviations.for_version(backend.info.cni_version)

    def runner(self, backend: Backend) -> ScenarioRunner:
        if self._runner is None:
            self._deviations_on(backend)
            options = self.settings.run_options(backend.info)
            self._runner = ScenarioRunner(
                backend,
                self.plan,
                options,
                self.session.run_id,
                self.name,
                self.session.progress,
                deviations=self.deviations,
            )
            if self.name != "main":
                # A worker keeps what it observed in the run's state directory as it goes: if
                # it dies, the controller still has every step it finished.
                self._runner.on_result = lambda _: store.dump(
                    self.results(), self.session.state_dir
                )
        return self._runner

    def catalogue_runner(self, backend: Backend) -> CatalogueRunner:
        """This process's deployment of the catalogue's topology, made on first use."""
        if self._catalogue is None:
            self._deviations_on(backend)
            self._catalogue = CatalogueRunner(
                backend,
                load_layout(CATALOGUE_MANIFESTS),
                self.settings.profile,
                self.settings.run_options(backend.info),
                self.session.run_id,
                f"{self.name}-catalogue",
                self.session.progress,
                deviations=self.deviations,
            )
            if self.name != "main":
                self._catalogue.on_result = lambda _: store.dump(
                    self.results(), self.session.state_dir
                )
        return self._catalogue

    def results(self) -> ProcessResults:
        """Everything this process has observed so far."""
        results = ProcessResults(self.name)
        runners: list[tuple[str, ScenarioRunner | CatalogueRunner]] = []
        if self._runner is not None:
            runners.append(("", self._runner))
        if self._catalogue is not None:
            runners.append(("catalogue", self._catalogue))
        for name, r in runners:
            results.steps += r.results
            results.setup_errors.update({sid: error_text(e) for sid, e in r.errors.items()})
            results.phases.update({f"{name}-{k}" if name else k: v for k, v in r.phases.items()})
            for key, pod in sorted(r.deployment.pods.items()):
                pod_name = f"{name}:{key}" if name else key
                results.nodes.setdefault(pod.node or "unknown", []).append(pod_name)
        return results

    def close(self) -> ProcessResults:
        """Delete this process's deployments; return everything they observed."""
        if self._runner is not None:
            self._runner.close()
        if self._catalogue is not None:
            self._catalogue.close()
        return self.results()
