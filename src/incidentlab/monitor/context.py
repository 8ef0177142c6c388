"""What the checks share while they run on one warehouse at one moment: the project, the runs, refresh times."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from incidentlab.monitor.audit import Run
from incidentlab.monitor.finding import Finding
from incidentlab.monitor.history import History
from incidentlab.monitor.project import DbtProject
from incidentlab.monitor.timezones import local_naive
from incidentlab.monitor.warehouse import columns_of, one_row, quoted

# Columns that hold when dbt last rebuilt a table (the first one a model has is used; meta.refreshed_at_column wins).
REFRESH_COLUMNS = ("_refreshed_at", "refreshed_at", "updated_at", "_updated_at", "loaded_at", "_loaded_at")


@dataclass
class Context:
    con: duckdb.DuckDBPyConnection
    project: DbtProject
    now: dt.datetime
    history: History
    sla_hours: float | None = None
    selectors: tuple[str, ...] = ()  # the selections selector_coverage checks (default: the latest run's)
    # runs one check by name (monitor.checks.run_one, given by the report: the checks import this module, not it them)
    run_check: Callable[[str, Context], list[Finding]] | None = None
    results: dict[str, list[Finding]] = field(default_factory=dict)  # each check's findings, once it has run

    @property
    def runs(self) -> list[Run]:
        return self.history.runs

    def built_by(self, run: Run) -> frozenset[str]:
        """The models ``run`` built: what dbt recorded as run, else its selection resolved by dbt's graph."""
        ran = run.models_ran
        return ran if ran is not None else self.project.select(run.models_run)

    def columns(self, model: str) -> dict[str, str]:
        """The model's columns in the warehouse ({} when it was never built)."""
        return columns_of(self.con, *self.project.relation(model))

    def table(self, model: str) -> str:
        return quoted(*self.project.relation(model))

    def date_column(self, model: str) -> str | None:
        """The column that dates a model's rows: ``meta.date_column``, else its first DATE column."""
        columns = self.columns(model)
        named = self.project.meta(model).get("date_column")
        if named in columns:
            return named
        return next((c for c, t in columns.items() if t == "DATE"), None)

    def refreshed_at(self, model: str) -> tuple[dt.datetime | None, str]:
        """When dbt last rebuilt ``model``, and where that was read.

        From a refresh column when the model has one (``max(updated_at)``: the clock when dbt built it); otherwise
        the start of the latest run of the audit log that built it (its selector, resolved by dbt).
        """
        columns = self.columns(model)
        named = self.project.meta(model).get("refreshed_at_column")
        column = named if named in columns else next((c for c in REFRESH_COLUMNS if c in columns), None)
        if column:
            value = one_row(self.con, f'select max("{column}") from {self.table(model)}')[0]
            return local_naive(value), f"column {column}"
        for run in reversed(self.runs):
            if run.built and model in self.built_by(run):
                return run.run_date, f"{run.source} {run.run_id}"
        return None, "no refresh column and no recorded run built it"

    def result(self, check: str) -> list[Finding]:
        """``check``'s findings, running it first if it has not run yet."""
        if check not in self.results:
            if self.run_check is None:
                raise RuntimeError("the context was made without its checks")
            self.results[check] = self.run_check(check, self)
        return self.results[check]
