"""The process that runs the students' queries for a grader, under limits the grader enforces from outside.

The grader (``incidentlab.grading.warehouses.QueryProcess``) starts it with two pipes and kills it when a query
outlives its wall-clock limit. Here the process caps its own address space (``RLIMIT_AS``), dies with its parent,
and answers one request at a time:

- ``fresh``: close every connection (a new submission starts; nothing of the last one is left);
- ``catalog`` (path): the warehouse's tables, views and macros, read on the key's copy;
- ``run`` (path, sql, max_rows, trusted): the query's result, fetched only through ``limit max_rows + 1``; more
  rows, a value larger than ``MAX_VALUE_CHARS`` or too many columns is a breach, reported as such. A trusted
  query (the answer key) runs on a connection kept for the key, to a copy of the warehouse no student's query
  opens (DuckDB shares one database instance between the connections to one file).

Every connection is read-only, with no file or network access, one thread and a memory limit.
"""

from __future__ import annotations

import contextlib
import ctypes
import resource
import signal
import sys
import warnings
from multiprocessing.connection import Connection

import duckdb
import pandas as pd

from incidentlab.checking.sql_allowlist import Catalog

MEMORY_LIMIT = "1GB"  # DuckDB's own limit; the address space cap below also bounds what pandas fetches
ADDRESS_SPACE = 3 << 30
MAX_VALUE_CHARS = 100_000
MAX_RESULT_CHARS = 5_000_000
MAX_COLUMNS = 200
CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False, "memory_limit": MEMORY_LIMIT, "threads": 1, "lock_configuration": True,
    "autoinstall_known_extensions": False, "autoload_known_extensions": False}


class Breach(Exception):
    """The query's result is larger than grading allows; the message says how, never with a value."""


def connect(path: str) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(path, read_only=True, config=CONFIG)


def wrapped(sql: str, max_rows: int) -> str:
    """``sql`` under a ``limit`` one past the cap: DuckDB stops producing rows there, nothing more is fetched."""
    tokens = duckdb.tokenize(sql)
    if tokens and sql[tokens[-1][0]] == ";":  # a trailing `;` (and whatever comment follows it) is cut
        sql = sql[: tokens[-1][0]]
    return f"select * from (\n{sql}\n) limit {int(max_rows) + 1}"


def result(con: duckdb.DuckDBPyConnection, sql: str, max_rows: int) -> pd.DataFrame:
    frame = con.execute(wrapped(sql, max_rows)).df()
    if len(frame) > max_rows:
        raise Breach("rows")
    if len(frame.columns) > MAX_COLUMNS:
        raise Breach("columns")
    total = 0
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue  # fixed-size values
        for value in series:  # text (object or string dtype), blobs, lists (their items), structs
            size = len(value) if hasattr(value, "__len__") else len(str(value))
            if size > MAX_VALUE_CHARS:
                raise Breach("value")
            total += size
    if total > MAX_RESULT_CHARS:  # what the grader receives stays small, whatever this process could hold
        raise Breach("size")
    return frame


class Server:
    def __init__(self):
        self.connections: dict[str, duckdb.DuckDBPyConnection] = {}  # the current submission's
        self.trusted: dict[str, duckdb.DuckDBPyConnection] = {}  # the key's, on copies no answer opens

    def fresh(self) -> None:
        for con in self.connections.values():
            con.close()
        self.connections.clear()

    def _trusted(self, path: str) -> duckdb.DuckDBPyConnection:
        if path not in self.trusted:
            self.trusted[path] = connect(path)
        return self.trusted[path]

    def catalog(self, path: str) -> Catalog:
        return Catalog.of(self._trusted(path))

    def run(self, path: str, sql: str, max_rows: int, trusted: bool = False) -> pd.DataFrame:
        if trusted:
            return result(self._trusted(path), sql, max_rows)
        if path not in self.connections:
            self.connections[path] = connect(path)
        return result(self.connections[path], sql, max_rows)


def _die_with_parent() -> None:
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def serve(inbox: Connection, outbox: Connection) -> None:
    server = Server()
    outbox.send(("ready", None))  # imports done: the grader's clock for a query starts after this
    while True:
        try:
            op, args = inbox.recv()
        except EOFError:
            return
        try:
            reply = ("ok", getattr(server, op)(*args))
        except Breach as exc:
            reply = ("breach", str(exc))
        except (MemoryError, duckdb.OutOfMemoryException):
            reply = ("breach", "memory")
        except duckdb.Error as exc:
            text = str(exc).strip()
            reply = ("error", (type(exc).__name__, text.splitlines()[0][:500] if text else ""))
        del op, args
        outbox.send(reply)


def main() -> None:
    _die_with_parent()
    warnings.simplefilter("ignore")  # pandas' deprecations in DuckDB's conversion: nothing the grader can act on
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    serve(Connection(read_fd, writable=False), Connection(write_fd, readable=False))


if __name__ == "__main__":
    main()
