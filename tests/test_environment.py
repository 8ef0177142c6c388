"""pyproject.toml, requirements.lock, environment.yml and the running environment agree."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from incidentlab.paths import project_root

# distribution -> a module it installs
COURSE_PACKAGES = {
    "jupyterlab": "jupyterlab",
    "duckdb": "duckdb",
    "jupysql": "sql",
    "pandas": "pandas",
    "nbgrader": "nbgrader",
    "nbval": "nbval",
    "dbt-core": "dbt.cli.main",
    "dbt-duckdb": "dbt.adapters.duckdb",
}


def pyproject() -> dict:
    return tomllib.loads((project_root() / "pyproject.toml").read_text(encoding="utf-8"))


def lock() -> dict[str, list[str]]:
    """Canonical name -> the specifiers it is locked with (one per line; markers may split a name)."""
    pins: dict[str, list[str]] = {}
    for line in (project_root() / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        pins.setdefault(canonicalize_name(requirement.name), []).append(str(requirement.specifier))
    return pins


def locked_version(name: str) -> Version:
    [spec] = lock()[canonicalize_name(name)]
    assert spec.startswith("=="), f"{name} is locked as {spec!r}, not pinned"
    return Version(spec[2:])


def environment() -> dict:
    return yaml.safe_load((project_root() / "environment.yml").read_text(encoding="utf-8"))


def test_environment_python_matches_requires_python():
    conda = [d for d in environment()["dependencies"] if isinstance(d, str) and re.match(r"python\b", d)]
    assert conda == ["python=3.11"]
    requires = SpecifierSet(pyproject()["project"]["requires-python"])
    assert "3.11.0" in requires and "3.11.99" in requires
    assert "3.10.99" not in requires and "3.12.0" not in requires


def test_environment_installs_exactly_the_lock_and_the_project():
    [pip] = [d["pip"] for d in environment()["dependencies"] if isinstance(d, dict)]
    assert pip == ["-r requirements.lock", "-e ."]


@pytest.mark.parametrize(("name", "allowed"), [("dbt-core", "~=1.11.0"), ("dbt-duckdb", "~=1.11.0"), ("duckdb", "<2")])
def test_lock_pins_the_warehouse_stack(name, allowed):
    assert locked_version(name) in SpecifierSet(allowed)


def declared() -> list[Requirement]:
    """The student's dependencies and every extra's (instructor, test): the lock pins them all."""
    project = pyproject()["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    return [Requirement(r) for r in project["dependencies"] + extras]


def names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def test_student_dependencies_hold_no_grading_or_test_tool():
    """`pip install incidentlab` is the student's install: no nbgrader (its lab extensions), no dask, no pytest."""
    project = pyproject()["project"]
    student = names(project["dependencies"])
    assert student >= {"duckdb", "dbt-core", "dbt-duckdb", "jupyterlab", "jupysql", "pandas", "matplotlib", "tqdm"}
    assert not student & {"nbgrader", "dask", "distributed", "nbval", "pytest", "uv"}
    assert names(project["optional-dependencies"]["instructor"]) == {"nbgrader", "dask"}
    assert "distributed" in Requirement(next(r for r in project["optional-dependencies"]["instructor"]
                                              if r.startswith("dask"))).extras
    assert names(project["optional-dependencies"]["test"]) >= {"pytest", "uv", "nbval"}


def test_lock_resolves_every_extra():
    """`make lock` resolves the student's dependencies with every extra, so `make install` installs them all."""
    makefile = (project_root() / "Makefile").read_text(encoding="utf-8")
    [compile_line] = [line for line in makefile.splitlines() if "uv pip compile" in line]
    for extra in pyproject()["project"]["optional-dependencies"]:
        assert f"--extra {extra}" in compile_line, f"make lock leaves out the extra {extra!r}"


@pytest.mark.parametrize("requirement", declared(), ids=str)
def test_every_declared_dependency_is_pinned_within_its_range(requirement):
    assert locked_version(requirement.name) in requirement.specifier


@pytest.mark.parametrize(("distribution", "module"), COURSE_PACKAGES.items())
def test_course_package_installed_at_the_locked_version(distribution, module):
    assert Version(importlib.metadata.version(distribution)) == locked_version(distribution)
    importlib.import_module(module)
