"""Where the grader runs a student's query: locked-down, read-only copies of the built warehouses.

Each copy is made once per grading process, in a private folder, under the file name dbt-duckdb's views expect.
Its connection can read the warehouse and nothing else: no file or network access (no ``attach``, ``copy``,
``read_csv``, extension loading), no configuration change (``lock_configuration``), one thread, bounded memory,
and a time limit per query. Only a single ``select`` ever reaches it (``incidentlab.checking.answer_sql``).
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd

from incidentlab import temp_folders
from incidentlab.errors import IncidentLabError
from incidentlab.paths import WAREHOUSE_FILE

MEMORY_LIMIT = "1GB"
_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False, "memory_limit": MEMORY_LIMIT, "threads": 1,
    "autoinstall_known_extensions": False, "autoload_known_extensions": False}


class QueryError(IncidentLabError):
    """A query failed; the message is the database's first line."""


class QueryTimeout(QueryError):
    """A query ran longer than its time limit and was stopped."""


_folder: Path | None = None


def _private_folder() -> Path:
    global _folder
    if _folder is None:
        _folder = temp_folders.make("grade")  # removed at exit, on SIGTERM, or after a kill by the next grader
    return _folder


def _interrupt(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # the query may finish and the connection close as the timer fires
        con.interrupt()


class LockedWarehouse:
    """A private read-only copy of the built warehouse at ``pristine``, opened once."""

    def __init__(self, pristine: Path):
        if not pristine.exists():
            raise IncidentLabError(f"the warehouse {pristine} is not built; run `make warehouses` first")
        target = _private_folder() / f"{len(list(_private_folder().iterdir()))}" / WAREHOUSE_FILE
        target.parent.mkdir(parents=True)
        shutil.copyfile(pristine, target)
        target.chmod(0o444)
        self.path = target
        self.con = duckdb.connect(str(target), read_only=True, config=_CONFIG)
        self.con.execute("set enable_progress_bar = false")
        self.con.execute("set lock_configuration = true")
        self._lock = threading.Lock()

    def tables_read(self, sql: str) -> set[str]:
        """The tables and views the query reads (common table expressions are not tables)."""
        with self._lock:
            try:
                return set(self.con.get_table_names(sql))
            except duckdb.Error as exc:
                raise QueryError(_first_line(exc)) from None

    def run(self, sql: str, time_limit: float) -> pd.DataFrame:
        with self._lock:
            timer = threading.Timer(max(time_limit, 0.01), _interrupt, args=(self.con,))
            timer.daemon = True
            timer.start()
            try:
                return self.con.execute(sql).df()
            except duckdb.InterruptException:
                raise QueryTimeout(f"it ran longer than {time_limit:g} s and was stopped") from None
            except (duckdb.Error, MemoryError) as exc:
                raise QueryError(_first_line(exc)) from None
            finally:
                timer.cancel()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Budget:
    """The query time one submission may use in all; checks after it is spent are not run."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.used = 0.0

    def remaining(self) -> float:
        return self.seconds - self.used

    def timed(self, run, *args):
        started = time.monotonic()
        try:
            return run(*args)
        finally:
            self.used += time.monotonic() - started
