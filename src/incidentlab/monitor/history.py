"""The job's run history, from every source the warehouse holds: the orchestrator's audit log, the invocations
dbt recorded itself (this course's ``run_history`` package) and Elementary's ``dbt_invocations``/``dbt_run_results``.

dbt's own record says which nodes actually ran; an audit log says only what was selected. One source is read: the
audit table the user names (the course's modules name theirs), else dbt's own record, else a default audit table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from incidentlab.monitor.audit import NodeResult, Run, read_runs
from incidentlab.monitor.selection import join_args
from incidentlab.monitor.timezones import local_naive
from incidentlab.monitor.warehouse import find_table, has_table

DEFAULT_AUDIT_TABLE = "raw_pipeline_runs"
RUN_HISTORY = ("dbt_invocations_history", "dbt_node_results_history")  # written by dbt/run_history
ELEMENTARY = ("dbt_invocations", "dbt_run_results")


BUILDS = ("run", "build")  # the invocations that build models: the job's runs (test, seed, freshness… are not)


@dataclass
class History:
    runs: list[Run] = field(default_factory=list)
    source: str | None = None  # where the runs were read; None when the warehouse holds no history
    commands: frozenset[str] = frozenset()  # every dbt command recorded (``freshness`` included), from dbt's record

    @property
    def none_note(self) -> str:
        return ("no run history: install the run_history dbt package (dbt/run_history), or Elementary, or "
                "name the orchestrator's audit table with --audit-table")


def read_history(con: duckdb.DuckDBPyConnection, now: dt.datetime, audit_table: str | None = None) -> History:
    """The runs that had ended by ``now``, oldest first.

    ``audit_table``, when named, is the source (and must exist); otherwise dbt's own record (run_history, then
    Elementary), else the default audit table (``raw_pipeline_runs``) when the warehouse has one.
    """
    if audit_table:
        return History(read_runs(con, audit_table, now), f"audit table {audit_table}")
    for tables, reader, label in ((RUN_HISTORY, _run_history, "dbt run_history package"),
                                  (ELEMENTARY, _elementary, "Elementary")):
        if all(has_table(con, t) for t in tables):
            recorded = [r for r in reader(con) if r.ended_at <= now]
            return History([r for r in recorded if r.command_name in BUILDS], label,
                           frozenset(r.command_name for r in recorded))
    if has_table(con, DEFAULT_AUDIT_TABLE):
        return History(read_runs(con, DEFAULT_AUDIT_TABLE, now), f"audit table {DEFAULT_AUDIT_TABLE}")
    return History()


def _run_history(con: duckdb.DuckDBPyConnection) -> list[Run]:
    invocations, _ = find_table(con, RUN_HISTORY[0])
    nodes, node_columns = find_table(con, RUN_HISTORY[1])
    rows = con.execute(f"""
        select invocation_id, started_at, status, command, selected, excluded, selector,
               epoch(ended_at) - epoch(started_at)
        from {invocations} order by started_at, invocation_id""").fetchall()
    metric = "metric_sum" if "metric_sum" in node_columns else "null"
    results = _nodes(con, f"""select invocation_id, name, resource_type, status, execution_seconds, row_count,
                              {metric} from {nodes}""")
    return [_run(row, results) for row in rows]


def _elementary(con: duckdb.DuckDBPyConnection) -> list[Run]:
    """Elementary's invocations; its times are strings of UTC (dbt's run_started_at)."""
    invocations, columns = find_table(con, ELEMENTARY[0])
    results_table, _ = find_table(con, ELEMENTARY[1])
    excluded = "excluded" if "excluded" in columns else "null"
    selector = "yaml_selector" if "yaml_selector" in columns else "null"
    rows = con.execute(f"""
        select invocation_id, timezone('UTC', cast(run_started_at as timestamp)), 'success', command, selected,
               {excluded}, {selector},
               epoch(cast(run_completed_at as timestamp)) - epoch(cast(run_started_at as timestamp))
        from {invocations} order by run_started_at, invocation_id""").fetchall()
    results = _nodes(con, f"""select invocation_id, name, resource_type, lower(status), execution_time, null,
                              null from {results_table}""")
    return [_run(row, results) for row in rows]


def _nodes(con, query: str) -> dict[str, list[NodeResult]]:
    out: dict[str, list[NodeResult]] = {}
    for invocation, *node in con.execute(query).fetchall():
        out.setdefault(invocation, []).append(NodeResult(node[0], node[1], node[2], float(node[3] or 0), *node[4:]))
    return out


def _run(row, results: dict[str, list[NodeResult]]) -> Run:
    invocation, started, status, command, selected, excluded, selector, seconds = row
    nodes = tuple(results.get(invocation, []))
    if any(n.status in ("error", "fail", "runtime error") for n in nodes):
        status = "error"
    selection = join_args(_text(selected), _text(excluded), _text(selector))
    return Run(invocation, local_naive(started), status, 0 if status == "success" else 1, selection,
               round(float(seconds or 0), 3), command or "run", nodes, "dbt")


def _text(value) -> str | None:
    """A selection argument as recorded: a string, or Elementary's JSON list of them."""
    if value in (None, "", "[]"):
        return None
    text = str(value)
    if text.startswith("["):
        import json

        try:
            return " ".join(json.loads(text)) or None
        except ValueError:
            return text
    return text
