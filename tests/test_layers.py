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

# Every folder and top-level module of the package, lowest first. A module imports only from its
# own folder or from a lower row; two folders on one row do not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "strict_yaml"),
    ("output_files", "cni", "model"),
    ("policy", "cluster"),
    ("probe",),
    ("scenarios",),  # scenarios as data: states, changes, tables; the upstream catalogue
    ("plan", "deviations"),
    ("results",),  # the records of a run, an upgrade and a comparison
    ("sim", "run"),
    ("settings",),  # the suite's options, validated, and the provider they name
    ("upgrade",),  # the upgrade gate's logic: live probes, the timeline, the verdict
    ("report",),  # every rendering: terminal, markdown, HTML
    ("pytest_plugin", "preflight"),
    ("commands",),
    ("cli",),
)
# Third-party packages that talk to a Kubernetes API server (pykube comes with pytest-kind-ng).
KUBE_CLIENTS = ("kubernetes", "urllib3", "pykube", "pytest_kind")
ORACLE = f"{NAME}.policy.oracle"


def _module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, package_dir: Path, modules: set[str]) -> set[str]:
    """Every module `path` names in an import statement. For `from a import b` that is `a.b` when
    `b` is a module of the project, else `a`: importing a sibling through its package is not an
    import of the package's `__init__` logic."""
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
            for alias in node.names:
                found.add(sub if (sub := f"{module}.{alias.name}") in modules else module)
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Project module -> the modules it imports: project modules that exist, and the top-level
    name of every other package."""
    sources = {_module_name(p, package): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in sources.items():
        edges: set[str] = set()
        for imported in _imports(path, package, set(sources)):
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


def _part(module: str) -> str:
    """The folder (or top-level module) of the package `module` belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def upward_imports(
    graph: dict[str, set[str]], layers: tuple[tuple[str, ...], ...] = LAYERS
) -> list[str]:
    """Every import of a project module that does not point down the layers, and every module
    whose folder is in no layer."""
    rank = {part: i for i, row in enumerate(layers) for part in row}
    found = []
    for module, targets in sorted(graph.items()):
        part = _part(module)
        if not part:
            continue
        if part not in rank:
            unlisted = f"{NAME}.{part}: in no layer"
            if unlisted not in found:
                found.append(unlisted)
            continue
        for target in sorted(t for t in targets if t.startswith(f"{NAME}.")):
            other = _part(target)
            if other and other != part and rank.get(other, len(layers)) >= rank[part]:
                found.append(f"{module} -> {target}")
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles among project modules (strongly connected components of two or more)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_every_import_points_down_the_layers() -> None:
    found = upward_imports(GRAPH)
    assert not found, "imports that do not point down the layers:\n" + "\n".join(found)


def test_no_import_circle() -> None:
    found = circles(GRAPH)
    assert not found, "modules that import each other:\n" + "\n".join(map(" <-> ".join, found))


def test_every_folder_of_the_package_has_a_layer() -> None:
    listed = {part for row in LAYERS for part in row}
    parts = {_part(m) for m in GRAPH} - {""}
    assert parts == listed


def test_the_layer_checks_catch_an_upward_import_and_a_circle(tmp_path: Path) -> None:
    fake = tmp_path / NAME
    for folder in ("low", "high", "side", "loose"):
        (fake / folder).mkdir(parents=True)
        (fake / folder / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "low" / "a.py").write_text(f"from {NAME}.high import b\n")  # up
    (fake / "high" / "b.py").write_text(f"from {NAME}.low import a\nfrom {NAME}.side import c\n")
    (fake / "side" / "c.py").write_text("")
    (fake / "loose" / "d.py").write_text(f"from {NAME}.low import a\n")
    graph = import_graph(fake)
    layers = (("low",), ("high", "side"))
    assert upward_imports(graph, layers) == [
        f"{NAME}.high.b -> {NAME}.side.c",
        f"{NAME}.loose: in no layer",
        f"{NAME}.low.a -> {NAME}.high.b",
    ]
    assert circles(graph) == [[f"{NAME}.high.b", f"{NAME}.low.a"]]
    (fake / "low" / "a.py").write_text("")
    assert upward_imports(import_graph(fake), (("low",), ("side",), ("high",), ("loose",))) == []
    assert circles(import_graph(fake)) == []


def test_importing_a_sibling_through_its_package_is_not_a_circle(tmp_path: Path) -> None:
    fake = tmp_path / NAME
    (fake / "plug").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "plug" / "__init__.py").write_text(f"from {NAME}.plug import store\nVALUE = 1\n")
    (fake / "plug" / "store.py").write_text("")
    (fake / "plug" / "state.py").write_text(
        f"from {NAME}.plug import store\nfrom {NAME}.plug import VALUE\n"
    )
    graph = import_graph(fake)
    assert graph[f"{NAME}.plug.state"] == {f"{NAME}.plug.store", f"{NAME}.plug"}
    assert circles(graph) == []


@pytest.mark.parametrize("layer", ["policy", "model", "plan", "results", "report"])
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
