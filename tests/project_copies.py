"""A throwaway copy of the project's datasets/ and dbt/ for tests that break them, and a warehouse to protect."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from warehouse_copies import MODULE, copy_of

from incidentlab.paths import project_root

DBT_ARTEFACTS = shutil.ignore_patterns("target", "logs", "dbt_packages")


def copy_project(folder: Path) -> Path:
    """``folder`` holding copies of datasets/, dbt/ and the modules' questions; point INCIDENTLAB_ROOT at it."""
    shutil.copytree(project_root() / "datasets", folder / "datasets")
    shutil.copytree(project_root() / "dbt", folder / "dbt", ignore=DBT_ARTEFACTS)
    for questions in (project_root() / "notebooks").glob("*/exercises.toml"):
        (folder / "notebooks" / questions.parent.name).mkdir(parents=True)
        shutil.copy(questions, folder / "notebooks" / questions.parent.name)
    return folder


def csv_path(root: Path, table: str) -> Path:
    return root / "datasets" / MODULE / f"{table}.csv"


def edit_line(path: Path, number: int, edit) -> str:
    """Replace line ``number`` (1-based) of ``path`` by ``edit(line)``; return the original line."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    original = lines[number - 1]
    lines[number - 1] = edit(original.rstrip("\n")) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    return original


def existing_warehouse(folder: Path) -> Path:
    """A built warehouse already sitting at the target, as a user's would."""
    return copy_of("stale", folder)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".building-"))


@contextmanager
def held_open(path: Path):
    """Another process holding a read-write DuckDB connection on ``path`` (as a notebook kernel would)."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('open', flush=True); sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        yield holder
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
