"""Shared by tests/ and the nbval notebook runs: the warehouses every test reads, built once per session.

They are built into a temporary folder by the real replay, so a change to data, models or the builder shows
in the tests. ``INCIDENTLAB_WAREHOUSES=warehouses pytest`` reuses the ones ``make warehouses`` built instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_built: dict[str, Path] = {}
# start() parses the dbt project in a background thread while a student reads; under nbval no one reads, and the
# thread would only compete with the cells (tests/test_dbt_magic.py tests the warm-up itself).
os.environ.setdefault("INCIDENTLAB_NO_WARM_UP", "1")

# nbval (pytest's --nbval) collects every notebook it finds: only the masters under notebooks/ are tests, not
# the submissions of the grading corpus, nbgrader's working folders or a student's workspace.
collect_ignore_glob = ["tests/*.ipynb", "grading/*", "workspace/*"]


def build_all(root: Path) -> Path:
    from incidentlab.build import build_all as build_every_warehouse

    os.environ["INCIDENTLAB_WAREHOUSES"] = str(root)
    build_every_warehouse(None, only_missing=True, workers=min(2, os.cpu_count() or 1))  # every module's
    from incidentlab.datasets import module_names
    from incidentlab.grading import fingerprints

    for module in module_names():  # the checks' fingerprints, as `make warehouses` writes them beside its warehouses
        fingerprints.write(module)
    return root


def _ensure(factory: pytest.TempPathFactory) -> Path:
    if "root" not in _built:
        preset = os.environ.get("INCIDENTLAB_WAREHOUSES")
        _built["root"] = build_all(Path(preset) if preset else factory.mktemp("warehouses"))
    return _built["root"]


@pytest.fixture(scope="session")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding the built warehouses (every module's stages and those of every variant)."""
    return _ensure(tmp_path_factory)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # With pytest-xdist (`make test` runs two workers), the controller builds the warehouses before it starts the
    # workers, which inherit INCIDENTLAB_WAREHOUSES and so reuse them instead of each building its own.
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        _ensure(config._tmp_path_factory)  # type: ignore[attr-defined]


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    # Notebook items (nbval) take no fixtures; their kernels inherit INCIDENTLAB_WAREHOUSES from this process.
    if any(str(item.fspath).endswith(".ipynb") for item in items):
        _ensure(config._tmp_path_factory)  # type: ignore[attr-defined]
