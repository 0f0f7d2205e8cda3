"""One cluster per test session, shared by every xdist worker.

The controlling process owns a state directory. The first process that needs the cluster
prepares it under a file lock and writes its description there; the others read it. A
failure is written there too, so that it is reported once, not by every test. At the end the
controller deletes every namespace of the run and whatever the provider made.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
from pathlib import Path

from filelock import FileLock

from netpol_conformance.cluster.base import RUN_LABEL, Backend, ClusterInfo, Progress
from netpol_conformance.cluster.providers import (
    ExistingProvider,
    LocalProvider,
    Provider,
    SimulatedProvider,
    info_from_json,
    info_to_json,
)
from netpol_conformance.errors import ConformanceError, SetupError
from netpol_conformance.settings import SuiteSettings

log = logging.getLogger("netpol_conformance")


def make_provider(settings: SuiteSettings, state_dir: Path) -> Provider:
    p = settings.profile
    if settings.cluster == "simulated":
        return SimulatedProvider(
            p, settings.faults, settings.simulate_delay, settings.run.probe.timeout
        )
    if settings.cluster == "existing":
        return ExistingProvider(p, settings.kubeconfig, settings.kube_context, settings.external_ip)
    if settings.cluster == "local":
        return LocalProvider(p)
    from netpol_conformance.cluster.kind import KindProvider

    return KindProvider(
        p,
        settings.cluster_name,
        settings.keep_cluster,
        settings.images["server"],
        Path.home() / ".cache" / "netpol-conformance" / "kind",
        settings.kind,
    )


class SuiteSession:
    def __init__(
        self, settings: SuiteSettings, run_id: str, state_dir: Path, progress: Progress
    ) -> None:
        self.settings = settings
        self.run_id = run_id
        self.state_dir = state_dir
        self.progress = progress
        self.provider = make_provider(settings, state_dir)
        self._backend: Backend | None = None
        self._info: ClusterInfo | None = None
        self.owns_state_dir = False  # made by new(): finish() removes it
        self._kept_error: str | None = None  # the set-up error, kept when the dir is removed

    @classmethod
    def new(cls, settings: SuiteSettings, progress: Progress) -> SuiteSession:
        state = Path(tempfile.mkdtemp(prefix="netpol-conformance-"))
        session = cls(settings, secrets.token_hex(4), state, progress)
        session.owns_state_dir = True
        return session

    @property
    def _info_file(self) -> Path:
        return self.state_dir / "cluster.json"

    @property
    def _error_file(self) -> Path:
        return self.state_dir / "setup-error.txt"

    @property
    def setup_error(self) -> str | None:
        return self._error_file.read_text() if self._error_file.exists() else self._kept_error

    def info(self) -> ClusterInfo:
        """Prepare the cluster once for all processes; raise SetupError if that failed."""
        if self._info is not None:
            return self._info
        with FileLock(str(self.state_dir / "prepare.lock")):
            if self._error_file.exists():
                raise ReportedSetupError(self._error_file.read_text())
            if self._info_file.exists():
                self._info = info_from_json(self._info_file.read_text())
                return self._info
            try:
                info = self.provider.prepare(self.progress)
            except ConformanceError as exc:
                self._error_file.write_text(str(exc))
                raise
            except Exception as exc:
                msg = f"preparing the {self.settings.cluster} cluster failed: {exc!r}"
                self._error_file.write_text(msg)
                raise SetupError(msg) from exc
            self._info_file.write_text(info_to_json(info))
            self._info = info
            return info

    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = self.provider.connect(self.info())
        return self._backend

    def finish(self) -> None:
        """Delete the run's namespaces and what the provider made; never raise."""
        try:
            self._finish_cluster()
        finally:
            if self.owns_state_dir:
                self._kept_error = self.setup_error
                shutil.rmtree(self.state_dir, ignore_errors=True)

    def _finish_cluster(self) -> None:
        if not self._info_file.exists():
            return
        info = info_from_json(self._info_file.read_text())
        try:
            backend = self._backend or self.provider.connect(info)
            gone = backend.delete_namespaces(f"{RUN_LABEL}={self.run_id}")
            if gone:
                self.progress(f"deleted {len(gone)} leftover namespaces of run {self.run_id}")
            self.provider.finish(info, self.progress)
        except Exception as exc:  # clean-up must not hide the test results
            self.progress(
                f"clean-up failed ({exc}); remove leftovers with: netpol-conformance cleanup"
            )


class ReportedSetupError(SetupError):
    """A set-up failure another test already reported in full."""
