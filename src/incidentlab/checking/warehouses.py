"""Where checks run queries: read-only connections to this process's private copies of the built warehouses.

A student's query can neither change a built warehouse (it runs on a copy, read-only, with file access
switched off, so no ``attach`` reaches the originals) nor wait for a lock another process holds.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path

import duckdb
import pandas as pd

from incidentlab.errors import IncidentLabError
from incidentlab.paths import WAREHOUSE_FILE, warehouse_path

TIME_LIMIT_SECONDS = 30.0
# No file access (no `attach` of an original, no `copy ... to`) and bounded memory.
_SETTINGS = {"enable_external_access": False, "memory_limit": "2GB", "threads": 2}

_copies: dict[tuple[str, int], Path] = {}
_folder: Path | None = None


class QueryError(IncidentLabError):
    """A query failed on a checking copy; the message is DuckDB's first line."""


class QueryTimeout(QueryError):
    """A query ran longer than the time limit and was interrupted."""


def _private_folder() -> Path:
    global _folder
    if _folder is None:
        _folder = Path(tempfile.mkdtemp(prefix="incidentlab-check-"))
        atexit.register(shutil.rmtree, _folder, ignore_errors=True)
    return _folder


def private_copy(module: str, stage: str, variant: bool = False) -> Path:
    """This process's copy of a built warehouse, made once (again if the original is rebuilt)."""
    pristine = warehouse_path(module, stage, variant)
    if not pristine.exists():
        from incidentlab.build import build

        build(module, stage, variant=variant)
    key = (str(pristine), pristine.stat().st_mtime_ns)
    if key not in _copies:
        target = _private_folder() / f"{len(_copies)}-{module}-{pristine.parent.name}" / WAREHOUSE_FILE
        target.parent.mkdir(parents=True)
        partial = target.with_name(WAREHOUSE_FILE + ".partial")
        shutil.copyfile(pristine, partial)
        partial.chmod(0o444)
        partial.rename(target)
        _copies[key] = target
    return _copies[key]


def _interrupt(con: duckdb.DuckDBPyConnection) -> None:
    # The timer may fire while the query finishes and the connection closes: a traceback from this thread
    # would land on stderr, which a graded cell counts as a failure.
    try:
        con.interrupt()
    except duckdb.Error:
        pass


def run_query(path: Path, sql: str, time_limit: float | None = None) -> pd.DataFrame:
    """The result of ``sql`` on the warehouse at ``path``, on a fresh read-only connection."""
    time_limit = TIME_LIMIT_SECONDS if time_limit is None else time_limit
    con = duckdb.connect(str(path), read_only=True, config=_SETTINGS)
    con.execute("set enable_progress_bar = false")  # it would draw on the graded cell's output
    timer = threading.Timer(time_limit, _interrupt, args=(con,))
    timer.daemon = True
    timer.start()
    try:
        return con.execute(sql).df()
    except duckdb.InterruptException:
        raise QueryTimeout(f"it ran longer than {time_limit:g} s and was stopped") from None
    except duckdb.Error as exc:
        raise QueryError(str(exc).strip().splitlines()[0]) from None
    finally:
        timer.cancel()
        con.close()
