"""A run of the job (one dbt invocation), and the orchestrator's audit log read from the warehouse: one row per run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from incidentlab.errors import IncidentLabError
from incidentlab.monitor.timezones import local_naive
from incidentlab.monitor.warehouse import find_table

COLUMNS = ("run_id", "run_date", "status", "exit_code", "models_run", "duration_seconds")


@dataclass(frozen=True)
class NodeResult:
    """One node an invocation selected, as dbt recorded it."""

    name: str
    resource_type: str
    status: str
    seconds: float
    row_count: int | None = None
    metric_sum: float | None = None


@dataclass(frozen=True)
class Run:
    """One run: from the orchestrator's audit log (``models_run`` is its selection), or from dbt's own record
    (then ``nodes`` holds what actually ran, and ``command_name`` the dbt command)."""

    run_id: str
    run_date: dt.datetime
    status: str
    exit_code: int
    models_run: str  # the selection: a --select value, ``all``, or selection arguments (``--select a --exclude b``)
    duration_seconds: float
    command_name: str = "run"
    nodes: tuple[NodeResult, ...] | None = None
    source: str = "audit log"

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
        return command_text(self.models_run, self.command_name)

    @property
    def models_ran(self) -> frozenset[str] | None:
        """The models dbt built in this run (None when only the selection is known)."""
        if self.nodes is None:
            return None
        return frozenset(n.name for n in self.nodes if n.resource_type == "model" and n.status == "success")

    @property
    def models_seconds(self) -> float | None:
        """The models' summed execution time (dbt's own start-up left out), when dbt recorded it."""
        if self.nodes is None:
            return None
        return round(sum(n.seconds for n in self.nodes if n.resource_type == "model"), 3)


def command_text(models_run: str, command: str = "run") -> str:
    """The dbt command of a run's selection (``all`` is a run without --select)."""
    if models_run == "all":
        return f"dbt {command}"
    return f"dbt {command} {models_run}" if models_run.startswith("-") else f"dbt {command} --select {models_run}"


def read_runs(con: duckdb.DuckDBPyConnection, table: str, now: dt.datetime) -> list[Run]:
    """The runs of audit table ``table`` that had ended by ``now``, oldest first."""
    relation, columns = find_table(con, table)
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise IncidentLabError(f"the audit table {table} has no column {', '.join(missing)}; it needs "
                               f"{', '.join(COLUMNS)} (pass another with --audit-table).")
    rows = con.execute(f"select {', '.join(COLUMNS)} from {relation} order by run_date, run_id").fetchall()
    runs = [Run(run_id, local_naive(run_date), status, exit_code, models_run, duration_seconds)
            for run_id, run_date, status, exit_code, models_run, duration_seconds in rows]
    return [run for run in runs if run.ended_at <= now]
