"""Where the grader runs a student's query: read-only copies of the built warehouses, in a process of their own.

Each warehouse is copied once per grading process, in a private folder, under the file name dbt-duckdb's views
expect. The queries run in a ``query_worker`` process the grader starts and keeps warm: read-only connections
with no file or network access and a memory limit, inside a capped address space. A submission gets fresh
connections (``QueryProcess.fresh``): nothing one student's query did is left for the next. A query that outlives
its wall-clock limit is stopped by killing that process (DuckDB only sees an interrupt between calls); one that
kills it, or returns too many rows or too large a value, is a breach. Only a query that passed the allow-list
(``incidentlab.checking.sql_allowlist``) ever reaches it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pandas as pd

from incidentlab import temp_folders
from incidentlab.errors import IncidentLabError
from incidentlab.paths import WAREHOUSE_FILE

KEY_ROWS = 1_000_000
STARTUP_TIMEOUT = 120.0  # the answer key is the course's own: its cap only guards against a broken key
_BIND_ERRORS = {"BinderException", "CatalogException", "ParserException"}


class QueryError(IncidentLabError):
    """A query failed. ``kind`` is DuckDB's error class; the message is its first line, which may hold data:
    only an error of binding (``at_bind``: a missing column or table, found before anything ran) holds none."""

    def __init__(self, kind: str, line: str):
        super().__init__(line or kind)
        self.kind = kind
        self.at_bind = kind in _BIND_ERRORS

    @property
    def kind_words(self) -> str:
        """``ConversionException`` -> ``a conversion error``."""
        words = self.kind.removesuffix("Exception").removesuffix("Error")
        spaced = "".join(f" {c.lower()}" if c.isupper() else c for c in words).strip() or "database"
        return f"{'an' if spaced[0] in 'aeiou' else 'a'} {spaced} error"


class QueryTimeout(QueryError):
    """A query ran longer than its time limit; its process was killed."""

    def __init__(self, seconds: float):
        super().__init__("Timeout", f"it ran longer than {seconds:g} s and was stopped")


class QueryBreach(QueryError):
    """A query broke a limit other than time: ``what`` is rows, columns, value or memory."""

    def __init__(self, what: str):
        super().__init__("Breach", what)
        self.what = what


_folder: Path | None = None


def _private_folder() -> Path:
    global _folder
    if _folder is None:
        _folder = temp_folders.make("grade")  # removed at exit, on SIGTERM, or after a kill by the next grader
    return _folder


_copies: dict[tuple[Path, str], Path] = {}


def private_copy(pristine: Path, role: str = "answers") -> Path:
    """This process's read-only copy of the built warehouse at ``pristine`` for ``role`` (made once): the key's
    copy is another file than the answers', so that they never share a database instance."""
    if (pristine, role) not in _copies:
        if not pristine.exists():
            raise IncidentLabError(f"the warehouse {pristine} is not built; run `make warehouses` first")
        target = _private_folder() / str(len(_copies)) / WAREHOUSE_FILE
        target.parent.mkdir(parents=True)
        shutil.copyfile(pristine, target)
        target.chmod(0o444)
        _copies[pristine, role] = target
    return _copies[pristine, role]


class QueryProcess:
    """A warm ``query_worker`` process; started on first use and again after it is killed."""

    def __init__(self):
        self._proc: subprocess.Popen | None = None
        self._inbox: Connection | None = None  # what the worker sends
        self._outbox: Connection | None = None
        atexit.register(self.close)

    def _start(self) -> None:
        to_child, from_parent = os.pipe()
        to_parent, from_child = os.pipe()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "incidentlab.grading.query_worker", str(to_child), str(from_child)],
            pass_fds=(to_child, from_child), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        os.close(to_child)
        os.close(from_child)
        self._outbox = Connection(from_parent, readable=False)
        self._inbox = Connection(to_parent, writable=False)
        try:  # a query's time limit does not pay for the start (imports take seconds on a busy machine)
            started = self._inbox.poll(STARTUP_TIMEOUT) and self._inbox.recv() == ("ready", None)
        except (OSError, EOFError):
            started = False
        if not started:
            self.close()
            raise IncidentLabError("the grader's query process did not start; run the grading again")

    def call(self, op: str, *args, timeout: float = 120.0):
        if self._proc is None:
            self._start()
        assert self._inbox is not None and self._outbox is not None  # _start made both, or raised
        try:
            self._outbox.send((op, args))
            ready = self._inbox.poll(max(timeout, 0.01))
        except (OSError, EOFError):
            ready = None
        if not ready:
            self.close()
            if ready is None:
                raise QueryBreach("memory")
            raise QueryTimeout(timeout)
        try:
            kind, payload = self._inbox.recv()
        except (OSError, EOFError):  # it died: out of memory (the address space cap), or worse
            self.close()
            raise QueryBreach("memory") from None
        if kind == "breach":
            raise QueryBreach(payload)
        if kind == "error":
            raise QueryError(*payload)
        return payload

    def fresh(self) -> None:
        """Close every connection the worker holds: the next submission starts clean."""
        if self._proc is not None:
            try:
                self.call("fresh", timeout=30)
            except QueryError:
                self.close()

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()
        proc.wait()
        for conn in (self._inbox, self._outbox):
            if conn is not None:
                conn.close()


_shared: QueryProcess | None = None


def shared_process() -> QueryProcess:
    global _shared
    if _shared is None:
        _shared = QueryProcess()
    return _shared


class LockedWarehouse:
    """A private read-only copy of the built warehouse at ``pristine``, queried through a query process."""

    def __init__(self, pristine: Path, process: QueryProcess | None = None):
        self.pristine = pristine
        self.path = private_copy(pristine)
        self.process = process or shared_process()

    def catalog(self):
        return self.process.call("catalog", str(private_copy(self.pristine, "key")), timeout=60)

    def run(self, sql: str, time_limit: float, max_rows: int = KEY_ROWS, trusted: bool = False) -> pd.DataFrame:
        """``trusted``: the course's own query (the key), on a copy and a connection of its own."""
        path = private_copy(self.pristine, "key") if trusted else self.path
        return self.process.call("run", str(path), sql, max_rows, trusted, timeout=time_limit)


class Budget:
    """The query time one submission may use in all; checks after it is spent are not run."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.used = 0.0

    def remaining(self) -> float:
        return self.seconds - self.used

    def timed(self, run, *args, **kwargs):
        started = time.monotonic()
        try:
            return run(*args, **kwargs)
        finally:
            self.used += time.monotonic() - started
