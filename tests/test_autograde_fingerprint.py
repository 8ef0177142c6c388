"""A student is graded again exactly when something the grade depends on changed: the submission, the release,
the answer key, the questions (exercises.toml), the warehouses the key is judged on, or the limits."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from project_copies import copy_project

from incidentlab.datasets import module_names
from incidentlab.grading.autograde import fingerprint, shared_fingerprint
from incidentlab.grading.limits import Limits
from incidentlab.paths import project_root

MODULE = module_names()[0]


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """A course of one submission, a project root with the module's key and questions, and its warehouses."""
    root = copy_project(tmp_path / "project")
    shutil.copytree(project_root() / "grading" / MODULE / "answer_key", root / "grading" / MODULE / "answer_key")
    warehouses = tmp_path / "warehouses"
    for stage in ("a", "b"):
        (warehouses / MODULE / stage).mkdir(parents=True)
        (warehouses / MODULE / stage / "acme.duckdb").write_bytes(b"a warehouse")
    monkeypatch.setenv("INCIDENTLAB_ROOT", str(root))
    monkeypatch.setenv("INCIDENTLAB_WAREHOUSES", str(warehouses))
    for folder in ("submitted/jane", "release"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "01.ipynb").write_text("{}")
    course = SimpleNamespace(assignment=MODULE, release=tmp_path / "release",
                             submitted=lambda student: tmp_path / "submitted" / student)
    return SimpleNamespace(course=course, root=root, warehouses=warehouses, tmp=tmp_path)


def _print(setup, limits: Limits = Limits()) -> str:
    return fingerprint(setup.course, "jane", limits, shared=shared_fingerprint(setup.course, limits))


def _append(path: Path, text: str) -> None:
    path.write_bytes(path.read_bytes() + text.encode())


def test_the_fingerprint_changes_with_each_input_and_only_then(setup):
    first = _print(setup)
    assert _print(setup) == first, "the same inputs must give the same fingerprint"
    assert fingerprint(setup.course, "jane", Limits()) == first, "computed once per run or per student: the same"
    changes = {
        "the submission": lambda: _append(setup.tmp / "submitted" / "jane" / "01.ipynb", " "),
        "the release": lambda: _append(setup.tmp / "release" / "01.ipynb", " "),
        "the answer key": lambda: _append(next((setup.root / "grading" / MODULE / "answer_key").glob("*.sql")), "\n"),
        "exercises.toml": lambda: _append(setup.root / "notebooks" / MODULE / "exercises.toml", "\n"),
        "a warehouse": lambda: _append(setup.warehouses / MODULE / "b" / "acme.duckdb", "!"),
    }
    seen = {first}
    for what, change in changes.items():
        change()
        now = _print(setup)
        assert now not in seen, f"changing {what} does not regrade"
        seen.add(now)
    assert _print(setup, Limits(query_timeout=1)) not in seen, "changing a limit does not regrade"


def test_another_modules_warehouses_do_not_regrade(setup):
    first = _print(setup)
    (setup.warehouses / "another_module" / "a").mkdir(parents=True)
    (setup.warehouses / "another_module" / "a" / "acme.duckdb").write_bytes(b"other")
    assert _print(setup) == first
