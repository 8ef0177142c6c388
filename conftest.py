"""Shared by tests/ and the nbval notebook runs: the warehouses every test reads, built once per session.

They are built into a temporary folder by the real replay, so a change to data, models or the builder shows
in the tests. ``INCIDENTLAB_WAREHOUSES=warehouses pytest`` reuses the ones ``make warehouses`` built instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from incidentlab import temp_folders

_built: dict[str, Path] = {}


def _private_temp() -> Path:
    """The session's own temporary folder (TMPDIR), shared with its workers and every process they start, so the
    check at the end sees what this session left behind and nothing of other processes on the machine."""
    if FIRST_PROCESS:  # its workers inherit it
        folder = temp_folders.make("tests")
        temp_folders.let_go(folder)  # removed by pytest_unconfigure, after the check (or, if killed, by the next)
        folder.chmod(0o711)  # the users a test creates (the hub's class) reach their own folders inside it
        os.environ["INCIDENTLAB_TEST_TMPDIR"] = os.environ["TMPDIR"] = str(folder)
        tempfile.tempdir = None  # read TMPDIR again
    return Path(os.environ["INCIDENTLAB_TEST_TMPDIR"])


FIRST_PROCESS = "INCIDENTLAB_TEST_TMPDIR" not in os.environ
SESSION_TEMP = _private_temp()
_SHM = Path("/dev/shm")  # autograde's sandboxes live there when it exists (not under TMPDIR)
_shm_before = {p.name for p in _SHM.glob(f"{temp_folders.PREFIX}*")}
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


def _left_behind() -> list[str]:
    """The project's temporary entries this session left: under its TMPDIR, and new ones in /dev/shm that no live
    process of another session owns."""
    left = [p.name for p in SESSION_TEMP.glob(f"{temp_folders.PREFIX}*")]
    left += [f"/dev/shm/{p.name}" for p in _SHM.glob(f"{temp_folders.PREFIX}*")
             if p.name not in _shm_before and (temp_folders.owner_gone(p) or temp_folders.owned_by_me(p))]
    return sorted(left)


@pytest.hookimpl(trylast=True)  # after pytest-xdist's, which stops the workers
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    temp_folders.remove_mine()  # what this process made and would remove at exit
    # nbval ends each notebook's kernel with SIGKILL: this process outlived them, so it removes their copies
    temp_folders.remove_orphans()
    if not FIRST_PROCESS:
        return  # a worker: the session's first process checks, once every worker has ended
    left = _left_behind()
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("")
            reporter.write_line(f"FAILED: the tests left {len(left)} temporary entr{'y' if len(left) == 1 else 'ies'} "
                                f"of the project behind in {SESSION_TEMP}: {', '.join(left)}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    if FIRST_PROCESS:
        shutil.rmtree(SESSION_TEMP, ignore_errors=True)
