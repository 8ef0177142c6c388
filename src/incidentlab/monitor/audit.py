"""The orchestrator's audit log, read from the warehouse: one row per dbt job run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from incidentlab.errors import IncidentLabError
from incidentlab.monitor.warehouse import find_table

COLUMNS = ("run_id", "run_date", "status", "exit_code", "models_run", "duration_seconds")


@dataclass(frozen=True)
class Run:
    run_id: str
    run_date: dt.datetime
    status: str
    exit_code: int
    models_run: str
    duration_seconds: int

    @property
    def ended_at(self) -> dt.datetime:
        return self.run_date + dt.timedelta(seconds=self.duration_seconds or 0)

    @property
    def green(self) -> bool:
        """What the orchestrator showed: success, and dbt exited 0."""
        return self.status == "success" and self.exit_code == 0

    @property
    def built(self) -> bool:
        """Whether dbt built anything: not when the orchestrator and dbt's exit code both say it failed."""
        return self.status == "success" or self.exit_code == 0

    @property
    def command(self) -> str:
        return command_text(self.models_run)


def command_text(models_run: str) -> str:
    """The dbt command of an audit-log ``models_run`` (``all`` is a run without --select)."""
    return "dbt run" if models_run == "all" else f"dbt run --select {models_run}"


def read_runs(con: duckdb.DuckDBPyConnection, table: str, now: dt.datetime) -> list[Run]:
    """The runs of audit table ``table`` that had ended by ``now``, oldest first."""
    relation, columns = find_table(con, table)
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise IncidentLabError(f"the audit table {table} has no column {', '.join(missing)}; it needs "
                               f"{', '.join(COLUMNS)} (pass another with --audit-table).")
    rows = con.execute(f"select {', '.join(COLUMNS)} from {relation} order by run_date, run_id").fetchall()
    runs = [Run(*row) for row in rows]
    return [run for run in runs if run.ended_at <= now]
