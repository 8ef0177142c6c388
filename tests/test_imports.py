"""The package's imports: no cycle between its modules (at the top or inside a function), no private name of one
module used by another (in the package, the tests or the benchmarks), and no script changing sys.path."""

from __future__ import annotations

import ast
from pathlib import Path

from incidentlab.paths import project_root

SRC = project_root() / "src"


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "incidentlab").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imported(tree: ast.AST) -> list[tuple[str, str | None, int]]:
    """(module, name imported from it or None, line) for each import of the package's modules."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in MODULES and not node.level:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                out.append((submodule, None, node.lineno) if submodule in MODULES
                           else (node.module, alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(alias.name, None, node.lineno) for alias in node.names if alias.name in MODULES]
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph``, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_cycle_between_the_packages_modules():
    graph = {name: {module for module, _, _ in _imported(ast.parse(path.read_text(encoding="utf-8")))} - {name}
             for name, path in MODULES.items()}
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _python_files() -> list[Path]:
    root = project_root()
    return sorted([*(root / "src").rglob("*.py"), *(root / "tests").rglob("*.py"), *(root / "benchmarks").glob("*.py"),
                   root / "conftest.py"])


def test_no_private_name_is_used_outside_its_module():
    reaches = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own = ".".join(path.relative_to(SRC).with_suffix("").parts) if path.is_relative_to(SRC) else None
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases.update({(a.asname or a.name): a.name for a in node.names if a.name in MODULES})
            elif isinstance(node, ast.ImportFrom) and node.module in MODULES:
                aliases.update({(a.asname or a.name): f"{node.module}.{a.name}" for a in node.names
                                if f"{node.module}.{a.name}" in MODULES})
        for module, name, line in _imported(tree):
            if name and name.startswith("_") and not name.startswith("__") and module != own:
                reaches.append(f"{path.relative_to(project_root())}:{line}: {module}.{name}")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                where = f"{path.relative_to(project_root())}:{node.lineno}"
                reaches.append(f"{where}: {aliases[node.value.id]}.{node.attr}")
    assert not reaches, "private names used outside their module:\n" + "\n".join(reaches)


def test_no_script_changes_sys_path():
    """The benchmarks and the package import what is installed; tests' helpers are loaded from their file."""
    for path in [*(project_root() / "benchmarks").glob("*.py"), *(SRC / "incidentlab").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", None) == "sys":
                raise AssertionError(f"{path.relative_to(project_root())}:{node.lineno} uses sys.path")
