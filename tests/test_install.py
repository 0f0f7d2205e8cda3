"""A user's install: `pip install <checkout>` (not editable) into a fresh virtual environment, then
the tutorial suite and `netpol-conformance simulate` run from outside the checkout.

This proves that the manifests and the schema ship as package data, that the pytest plugin is
found through its `pytest11` entry point (the copied suites have no conftest.py), and that the
declared dependencies are enough. The dependencies are installed from a wheel cache
(`~/.cache/netpol-conformance/wheels`, filled from PyPI the first time, then used offline), so
the test takes well under a minute once the cache is warm.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "netpol-conformance"
WHEELS = CACHE / "wheels"
TIMEOUT = 600

pytestmark = pytest.mark.slow

TOPOLOGY = """\
namespaces: [{name: frontend}, {name: backend}]
pods:
  - {namespace: frontend, name: web, ip: 10.0.0.1, labels: {app: web}, ports: [{port: 80}]}
  - {namespace: frontend, name: admin, ip: 10.0.0.2, labels: {app: admin}, ports: [{port: 80}]}
  - {namespace: backend, name: db, ip: 10.0.1.1, labels: {app: db}, ports: [{port: 5432}]}
"""


def _clean_env() -> dict[str, str]:
    """The environment without what would point the child at this checkout or this pytest run
    (PYTHONPATH, a virtualenv, xdist's worker variables, pytest's own options)."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    return {
        k: v
        for k, v in os.environ.items()
        if k not in dropped and not k.startswith(("PYTEST_", "NETPOL_"))
    }


def _run(args: list[str | Path], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
        **kwargs,  # type: ignore[call-overload]
    )


def _copy_checkout(target: Path) -> Path:
    """What a clone holds: the tracked and new, not ignored, files of the checkout (no build/,
    no egg-info, no caches), so that building does not write into the checkout."""
    listed = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot tell which files a clone holds")
    for name in filter(None, listed.stdout.split("\0")):
        source = ROOT / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the work tree, not yet committed
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            dest.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, dest)
    return target


def _pip(python: Path) -> list[str | Path]:
    """This interpreter's pip acting on the new environment (`--python`, pip >= 22.3), which
    saves installing pip into it."""
    return [sys.executable, "-m", "pip", "--python", python]


def _install(python: Path, checkout: Path, tmp: Path) -> None:
    offline = [*_pip(python), "install", "-q", "--no-compile", "--no-index", "--find-links", WHEELS]
    WHEELS.mkdir(parents=True, exist_ok=True)
    with FileLock(str(CACHE / "wheels.lock"), timeout=TIMEOUT):
        done = _run([*offline, checkout], tmp)
        if done.returncode == 0:
            return
        # The cache lacks something: fill it from PyPI (the build requirements for the isolated
        # build, then every dependency as a wheel), then install offline again.
        build = tomllib.loads((checkout / "pyproject.toml").read_text())["build-system"]
        own = tmp / "own-wheel"
        download = ["download", "-q", "--only-binary", ":all:", "-d", WHEELS]
        filled = _run([*_pip(python), *download, *build["requires"]], tmp)
        if filled.returncode == 0:
            filled = _run([*_pip(python), "wheel", "-q", "-w", own, checkout], tmp)
        if filled.returncode != 0:
            message = f"could not fill the wheel cache from PyPI:\n{filled.stderr[-2000:]}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        for wheel in own.glob("*.whl"):
            if not wheel.name.startswith("netpol_conformance-"):
                shutil.move(wheel, WHEELS / wheel.name)
        done = _run([*offline, checkout], tmp)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A fresh virtual environment (no system site-packages) holding the project, installed
    from a copy of the checkout; returns its python and the installed package's directory."""
    tmp = tmp_path_factory.mktemp("install")
    checkout = _copy_checkout(tmp / "clone")
    venv.create(tmp / "venv", with_pip=False, clear=True)
    python = tmp / "venv" / "bin" / "python"
    _install(python, checkout, tmp)
    show = "import netpol_conformance; print(netpol_conformance.__file__)"
    where = _run([python, "-c", show], tmp)
    assert where.returncode == 0, where.stderr
    package = Path(where.stdout.strip()).parent
    return python, package


def test_the_package_is_installed_with_its_data_not_linked_to_the_checkout(
    installed: tuple[Path, Path],
) -> None:
    python, package = installed
    assert package.is_relative_to(python.parent.parent), package
    assert not package.is_symlink() and not (package / "manifests").is_symlink()
    for data in (
        "manifests/topology/topology.yaml",
        "manifests/topology/pod.yaml",
        "manifests/step-1-default-deny-ingress/default-deny-ingress.yaml",
        "results/results.schema.json",
        "report/report.css",
        "report/templates/page.html.j2",
        "report/templates/timeline.svg.j2",
        "py.typed",
    ):
        assert (package / data).is_file(), data


def test_the_suite_runs_from_outside_the_checkout_through_the_entry_point(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    python, _ = installed
    suites = tmp_path / "my-suites"
    shutil.copytree(ROOT / "suites", suites, ignore=shutil.ignore_patterns("__pycache__"))
    assert not list(suites.rglob("conftest.py"))  # so the plugin can only come from pip's install
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    results = tmp_path / "results.json"
    pytest_in_venv = [python, "-m", "pytest", suites, "-q", "-p", "no:cacheprovider"]
    # the tutorial, and one family of the catalogue: its manifests came with the install
    select = ["-m", "tutorial or ports"]
    run = _run(
        [*pytest_in_venv, "--cluster", "simulated", "--netpol-results", results, *select],
        elsewhere,
    )
    tail = run.stdout[-3000:] + run.stderr[-2000:]
    assert run.returncode == 0, tail
    summary = run.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary), summary
    assert not re.search(r"\d+ (failed|errors?)\b", summary), summary
    document = json.loads(results.read_text())
    assert document["status"] == "passed"
    assert "beyond-endport-ingress" in {step["scenario"] for step in document["steps"]}
    page = tmp_path / "report.html"
    report = [python, "-m", "netpol_conformance.cli", "report", results, "--html", page]
    rendered = _run(report, elsewhere)  # the page's templates come from the installed package
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    assert '<svg class="chart"' in page.read_text() and "PASSED" in page.read_text()

    no_plugin = ["-p", "no:netpol_conformance.pytest_plugin"]
    without = _run([*pytest_in_venv, *no_plugin, "--cluster", "simulated"], elsewhere)
    assert without.returncode == 4 and "--cluster" in without.stderr, without.stderr


def test_simulate_reads_the_packaged_manifests(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    python, package = installed
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY)
    steps = package / "manifests"
    policies = ("step-1-default-deny-ingress", "step-2-allow-frontend-to-db")
    done = _run(
        [
            python.parent / "netpol-conformance",
            *("simulate", "--topology", topology, "--format", "json"),
            *(arg for step in policies for arg in ("--policies", steps / step)),
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    allowed = {
        (r["from"], r["to"], r["port"]): r["allowed"] for r in json.loads(done.stdout)["results"]
    }
    assert allowed[("frontend/web", "backend/db", 5432)] is True
    assert allowed[("frontend/admin", "backend/db", 5432)] is False
    assert allowed[("backend/db", "frontend/web", 80)] is True  # frontend is not isolated
