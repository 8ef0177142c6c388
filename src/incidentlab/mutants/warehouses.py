"""The warehouses a question is judged on, opened read-only once per process, with a time limit per query.

A question is asked on one stage's warehouse and judged there and on every variant of that stage, as the judge
does (``grading/answer_key.py``): ``versions`` lists them, the question's own warehouse first.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pandas as pd
from sqlglot import exp

from incidentlab.datasets import variant_names
from incidentlab.errors import IncidentLabError
from incidentlab.paths import warehouse_path

MUTANT_TIME_LIMIT = 5.0  # a mutant slower than this (a join without its condition) is not counted
_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False, "memory_limit": "1GB", "threads": 1,
    "autoinstall_known_extensions": False, "autoload_known_extensions": False}


class MutantFailed(Exception):
    """A query did not run (it does not bind, fails on the data, or outlived its time limit)."""


def versions(module: str, stage: str) -> list[tuple[str, Path]]:
    """(label, warehouse) of the question's own warehouse (label: the stage) and of each variant of it."""
    return ([(stage, warehouse_path(module, stage))]
            + [(f"{stage}-{name}", warehouse_path(module, stage, name)) for name in variant_names(module)])


class Warehouse:
    """One read-only connection to a built warehouse."""

    def __init__(self, path: Path):
        if not path.exists():
            raise IncidentLabError(f"the warehouse {path} is not built; run `make warehouses` first")
        self.con = duckdb.connect(str(path), read_only=True, config=_CONFIG)
        self.con.execute("set enable_progress_bar = false")

    def run(self, sql: str, time_limit: float = MUTANT_TIME_LIMIT) -> pd.DataFrame:
        return self._timed(lambda: self.con.execute(sql).df(), time_limit)

    def rows(self, sql: str, time_limit: float = MUTANT_TIME_LIMIT) -> list[tuple]:
        return self._timed(lambda: self.con.execute(sql).fetchall(), time_limit)

    def _timed(self, work, time_limit: float):
        timer = threading.Timer(time_limit, self.con.interrupt)
        timer.daemon = True
        timer.start()
        try:
            return work()
        except duckdb.InterruptException:
            raise MutantFailed(f"ran longer than {time_limit:g} s") from None
        except (duckdb.Error, MemoryError) as exc:
            raise MutantFailed((str(exc).strip().splitlines() or [type(exc).__name__])[0]) from None
        finally:
            timer.cancel()

    def columns_read(self, tree: exp.Expression) -> dict[str, dict[str, str]]:
        """table -> column -> type, for each table or view of the warehouse the query ``tree`` reads."""
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        wanted = {(table.db or "main", table.name) for table in tree.find_all(exp.Table)
                  if table.name and not (table.name in ctes and not table.db)}
        out: dict[str, dict[str, str]] = {}
        for schema, name in sorted(wanted):
            found = self.con.execute("select column_name, data_type from information_schema.columns "
                                     "where table_schema = ? and table_name = ? order by ordinal_position",
                                     [schema, name]).fetchall()
            out[f"{schema}.{name}"] = {column.lower(): kind for column, kind in found}
        return out
