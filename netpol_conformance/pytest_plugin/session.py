"""One cluster per test session, shared by every xdist worker.

The controlling process owns a state directory, made when first needed. The first process that
needs the cluster prepares it under a file lock and writes its description there; the others
read it. A failure is written there too, so that it is reported once, not by every test.
Workers write their progress lines there, and the controller shows them. At the end the
controller deletes every namespace of the run and whatever the provider made.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from pathlib import Path

from filelock import FileLock

from netpol_conformance.cluster.base import (
    RUN_LABEL,
    Backend,
    ClusterInfo,
    Progress,
    cluster_fact_problems,
)
from netpol_conformance.cluster.providers import (
    Provider,
    info_from_json,
    info_to_json,
)
from netpol_conformance.errors import ConformanceError, SetupError
from netpol_conformance.settings import SuiteSettings, make_provider


class SuiteSession:
    """The run's cluster, shared by all processes of one pytest session."""

    def __init__(
        self,
        settings: SuiteSettings,
        rootdir: Path,
        progress: Progress,
        run_id: str | None = None,
        state_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.rootdir = rootdir
        self.run_id = run_id or secrets.token_hex(4)
        self._state_dir = state_dir
        self.owns_state_dir = state_dir is None  # made here: finish() removes it
        self._say = progress
        self._provider: Provider | None = None
        self._backend: Backend | None = None
        self._info: ClusterInfo | None = None
        self._kept_error: str | None = None  # the set-up error, kept when the dir is removed

    @property
    def state_dir(self) -> Path:
        if self._state_dir is None:
            self._state_dir = Path(tempfile.mkdtemp(prefix="netpol-conformance-"))
        return self._state_dir

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = make_provider(self.settings, self.rootdir)
        return self._provider

    @property
    def _info_file(self) -> Path:
        return self.state_dir / "cluster.json"

    @property
    def _error_file(self) -> Path:
        return self.state_dir / "setup-error.txt"

    @property
    def progress_file(self) -> Path:
        return self.state_dir / "progress.log"

    @property
    def setup_error(self) -> str | None:
        if self._state_dir is not None and self._error_file.exists():
            return self._error_file.read_text()
        return self._kept_error

    def progress(self, message: str) -> None:
        """Say something about the run: directly, or (in a worker) through the controller."""
        if self.owns_state_dir:
            self._say(message)
        else:
            with open(self.progress_file, "a", encoding="utf-8") as f:
                f.write(message.replace("\n", " ") + "\n")

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
                problems = cluster_fact_problems(info)
                if problems:
                    raise SetupError("; ".join(problems))
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

    def known_info(self) -> ClusterInfo | None:
        """The cluster as some process prepared it, without preparing it."""
        if self._info is not None:
            return self._info
        if self._state_dir is not None and self._info_file.exists():
            return info_from_json(self._info_file.read_text())
        return None

    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = self.provider.connect(self.info())
        return self._backend

    def finish(self) -> None:
        """Delete the run's namespaces and what the provider made; never raise."""
        if self._state_dir is None:
            return  # nothing was ever prepared
        try:
            self._finish_cluster()
        finally:
            if self.owns_state_dir:
                self._kept_error = self.setup_error
                shutil.rmtree(self._state_dir, ignore_errors=True)

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


class ProgressRelay:
    """In the controller: show the lines workers write to the progress file as they come."""

    def __init__(self, path: Path, say: Progress, interval: float = 0.5) -> None:
        self.path, self.say, self.interval = path, say, interval
        self._offset = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="netpol-progress", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.decode("utf-8", errors="replace").splitlines():
            self.say(line)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self.flush()


class ReportedSetupError(SetupError):
    """A set-up failure another test already reported in full."""
