"""The package's files the warehouse build reads: ``incidentlab.build`` and every module it imports, in turn.

The Makefile rebuilds the warehouses when one of them changes (``WAREHOUSE_INPUTS``). It runs this file with any
Python 3, before the virtual environment exists, so it reads the imports from the source and imports nothing.

    python3 src/incidentlab/build_inputs.py     # one path a line, relative to the current folder
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ENTRY = "incidentlab.build"


def _file(module: str) -> Path | None:
    """The source file of ``incidentlab.<...>`` (a module or a package's __init__), None outside the package."""
    parts = module.split(".")
    if parts[0] != PACKAGE.name:
        return None
    base = PACKAGE.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(path: Path) -> set[str]:
    """The package's modules ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}  # `from incidentlab import x`
    return {name for name in found if _file(name) is not None}


def build_inputs(entry: str = ENTRY) -> list[Path]:
    """The source files of ``entry`` and of every module of the package it imports, directly or not."""
    seen: dict[str, Path] = {}
    todo = [entry]
    while todo:
        module = todo.pop()
        path = _file(module)
        if module in seen or path is None:
            continue
        seen[module] = path
        todo += _imports(path)
        parent = module.rsplit(".", 1)[0]
        if parent != module and _file(parent) is not None:
            todo.append(parent)  # importing a submodule runs its package's __init__
    return sorted(set(seen.values()))


if __name__ == "__main__":
    for source in build_inputs():
        print(os.path.relpath(source))
