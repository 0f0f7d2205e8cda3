"""Layers point one way, and the package stands on its own.

The import graph is read from the package's source with `ast` (every import statement, also those
inside functions and under TYPE_CHECKING) and followed through the project's own modules, so a
forbidden import is found whether it is written in the module itself or reached through another
module of the package. A failure names the chain of modules that leads to it.
"""

from __future__ import annotations

import ast
import re
import subprocess
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "netpol_conformance"
NAME = PACKAGE.name

# The higher layers: the pytest plugin, the run step, the reports and the command line.
HIGHER = ("pytest_plugin", "run", "report", "commands", "cli")
# Third-party packages that talk to a Kubernetes API server (pykube comes with pytest-kind-ng).
KUBE_CLIENTS = ("kubernetes", "urllib3", "pykube", "pytest_kind")
ORACLE = f"{NAME}.policy.oracle"


def _module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, package_dir: Path) -> set[str]:
    """Every module `path` names in an import statement (for `from a import b`: `a` and `a.b`)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path, package_dir).split(".")
    if path.name != "__init__.py":
        package.pop()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Project module -> the modules it imports: project modules that exist, and the top-level
    name of every other package."""
    sources = {_module_name(p, package): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in sources.items():
        edges: set[str] = set()
        for imported in _imports(path, package):
            if imported.split(".")[0] != NAME:
                edges.add(imported.split(".")[0])
            elif imported in sources:
                edges.add(imported)
        graph[module] = edges
    return graph


GRAPH = import_graph()


def reach(start: str, graph: dict[str, set[str]] = GRAPH) -> dict[str, list[str]]:
    """Every module `start` imports directly or through project modules, with the shortest chain."""
    chains = {start: [start]}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        for imported in sorted(graph.get(module, ())):
            if imported not in chains:
                chains[imported] = [*chains[module], imported]
                if imported in graph:
                    queue.append(imported)
    return chains


def _in(module: str, layers: Iterable[str]) -> bool:
    return any(
        module == f"{NAME}.{layer}" or module.startswith(f"{NAME}.{layer}.") for layer in layers
    )


def _modules_of(*layers: str) -> list[str]:
    return sorted(m for m in GRAPH if _in(m, layers))


def _violations(layers: tuple[str, ...], forbidden: Callable[[str], bool]) -> list[str]:
    found = []
    for module in _modules_of(*layers):
        for target, chain in reach(module).items():
            if target != module and forbidden(target):
                found.append(" -> ".join(chain))
    return found


def test_the_graph_is_read_from_the_package() -> None:
    """The checks below can only pass for a reason: the graph holds the imports it should."""
    assert len(_modules_of("cluster", "policy", "model", "probe", "plan", "report")) > 30
    assert f"{NAME}.policy.model" in GRAPH[ORACLE]
    assert "kubernetes" in GRAPH[f"{NAME}.cluster.kube"]
    assert ORACLE in reach(f"{NAME}.sim.cluster")


@pytest.mark.parametrize("layer", ["cluster", "policy", "model", "probe"])
def test_lower_layers_do_not_import_the_plugin_the_run_step_reports_or_the_cli(layer: str) -> None:
    found = _violations((layer,), lambda target: _in(target, HIGHER))
    assert not found, "a lower layer imports a higher one:\n" + "\n".join(found)


@pytest.mark.parametrize("layer", ["policy", "model", "plan", "report"])
def test_pure_layers_do_not_reach_a_kubernetes_client(layer: str) -> None:
    found = _violations((layer,), lambda target: target in KUBE_CLIENTS)
    assert not found, "pure code reaches a Kubernetes client:\n" + "\n".join(found)


def test_only_the_simulated_cluster_among_the_infrastructure_uses_the_oracle() -> None:
    found = _violations(("cluster", "probe"), lambda target: target == ORACLE)
    assert not found, "infrastructure uses the policy oracle:\n" + "\n".join(found)
    assert any(ORACLE in reach(m) for m in _modules_of("sim"))


def test_the_checks_catch_a_forbidden_import(tmp_path: Path) -> None:
    """A fake package in which cluster/ reaches run/ and the oracle through a helper module, and
    policy/ reaches kubernetes the same way: every rule above sees it."""
    fake = tmp_path / NAME
    for folder in ("cluster", "policy", "run", "util"):
        (fake / folder).mkdir(parents=True)
        (fake / folder / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "util" / "helper.py").write_text(
        f"from {NAME}.run import steps\nfrom ..policy import oracle\nimport kubernetes.client\n"
    )
    (fake / "run" / "steps.py").write_text("")
    (fake / "policy" / "oracle.py").write_text("")
    (fake / "cluster" / "backend.py").write_text("def later():\n    from ..util.helper import x\n")
    (fake / "policy" / "model.py").write_text(f"from {NAME}.util import helper\n")
    graph = import_graph(fake)
    backend = reach(f"{NAME}.cluster.backend", graph)
    assert backend[f"{NAME}.run.steps"] == [
        f"{NAME}.cluster.backend",
        f"{NAME}.util.helper",
        f"{NAME}.run.steps",
    ]
    assert ORACLE in backend
    assert "kubernetes" in reach(f"{NAME}.policy.model", graph)


# --- the package stands on its own: nothing reaches into a checkout ------------------------------


def _dirs_up_from_file(node: ast.expr) -> int | None:
    """How many directories up from the file's own directory an expression rooted at `__file__`
    goes (`Path(__file__).parent` is 0, `.parents[1]` is 1), or None if it is not such a path."""
    ups = 0
    while True:
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            ups += 1
            node = node.value
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "parents"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, int)
        ):
            ups += node.slice.value + 1
            node = node.value.value
        elif isinstance(node, ast.Attribute) and node.attr in ("absolute", "resolve"):
            node = node.value
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("absolute", "resolve"):
                node = node.func.value
            elif node.args:
                node = node.args[0]
            else:
                return None
        elif isinstance(node, ast.Name) and node.id == "__file__":
            return ups - 1  # Path(__file__).parent is the file's own directory
        else:
            return None


def reaches_out_of_package(path: Path, package: Path = PACKAGE) -> list[str]:
    """Lines of `path` that build a path from `__file__` above the package's own directory."""
    depth = len(path.relative_to(package).parts) - 1  # 0 for a module at the package's top
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute | ast.Subscript):
            ups = _dirs_up_from_file(node)
            if ups is not None and ups > depth:
                found.append(f"{path.relative_to(package.parent)}:{node.lineno}")
    return sorted(set(found))


def test_no_module_builds_a_path_above_the_package() -> None:
    found = [line for p in sorted(PACKAGE.rglob("*.py")) for line in reaches_out_of_package(p)]
    assert not found, "a module reaches out of the package (use package data):\n" + "\n".join(found)


def test_the_path_check_catches_a_reach_into_the_checkout(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    module = package / "sub" / "m.py"
    module.write_text(
        "from pathlib import Path\n"
        "OK = Path(__file__).resolve().parent.parent / 'manifests'\n"
        "BAD = Path(__file__).resolve().parents[2] / 'scripts'\n"
        "ALSO_BAD = Path(__file__).parent.parent.parent / 'suites'\n"
    )
    assert reaches_out_of_package(module, package) == ["pkg/sub/m.py:3", "pkg/sub/m.py:4"]


def test_no_module_reads_a_checkout_folder_relative_to_itself() -> None:
    """String paths such as "../manifests" or "scripts/x" would be read relative to the working
    directory or the package, and a `pip install` has neither."""
    pattern = re.compile(r"""["'](\.\./|(scripts|suites|tests|\.github)/)""")
    found = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in sorted(PACKAGE.rglob("*.py"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, "\n".join(found)


# Files that live beside the repository in its authors' workspace, never in a user's clone.
NOT_IN_A_CLONE = re.compile(r"DESIGN\.md|shared/reference|\.\./shared")


def test_no_file_points_at_files_a_clone_lacks() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout: the tracked files cannot be listed")
    me = Path(__file__).resolve()
    found = []
    for name in filter(None, listed.stdout.split("\0")):
        path = ROOT / name
        if path.resolve() == me or not path.is_file() or path.is_symlink():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        found += [
            f"{name}:{n}: {line.strip()}"
            for n, line in enumerate(text.splitlines(), 1)
            if NOT_IN_A_CLONE.search(line)
        ]
    assert not found, "points at a file a user's clone does not have:\n" + "\n".join(found)
