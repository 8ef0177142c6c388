"""Where the monitor reads the run history: Elementary's tables, dbt's own record, an audit table; times with zones."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from incidentlab.errors import IncidentLabError
from incidentlab.monitor.history import read_history

STARTED = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def con():
    with duckdb.connect() as con:
        con.execute("create schema elementary")
        con.execute("""create table elementary.dbt_invocations (invocation_id varchar, command varchar,
            selected varchar, yaml_selector varchar, run_started_at varchar, run_completed_at varchar)""")
        con.execute("""create table elementary.dbt_run_results (invocation_id varchar, unique_id varchar,
            name varchar, resource_type varchar, status varchar, execution_time double, rows_affected bigint)""")
        for day, selected in enumerate(['[]', '["staging"]']):
            start = STARTED + dt.timedelta(days=day)
            con.execute("insert into elementary.dbt_invocations values (?, 'run', ?, null, ?, ?)",
                        [f"inv-{day}", selected, start.strftime("%Y-%m-%d %H:%M:%S"),
                         (start + dt.timedelta(seconds=40)).strftime("%Y-%m-%d %H:%M:%S")])
            models = ["stg_a", "fct_b"] if day == 0 else ["stg_a"]
            con.executemany("insert into elementary.dbt_run_results values (?, ?, ?, 'model', ?, 1.5, null)",
                            [[f"inv-{day}", f"model.p.{m}", m, "SUCCESS" if m != "fct_b" else "success"]
                             for m in models])
        yield con


def test_elementarys_invocations_are_the_runs_with_the_nodes_that_ran(con):
    history = read_history(con, dt.datetime(2030, 1, 1))
    assert history.source == "Elementary"
    first, second = history.runs
    assert (first.models_run, second.models_run) == ("all", "staging")
    assert first.models_ran == {"stg_a", "fct_b"} and second.models_ran == {"stg_a"}
    assert second.command == "dbt run --select staging" and first.models_seconds == 3.0
    assert first.duration_seconds == 40 and first.green
    assert first.run_date == STARTED.astimezone().replace(tzinfo=None)  # Elementary's UTC strings, in local time


def test_a_named_audit_table_wins_and_must_exist(con):
    with pytest.raises(IncidentLabError, match="no table named job_runs"):
        read_history(con, dt.datetime(2030, 1, 1), "job_runs")
    con.execute("create table main.job_runs (run_id varchar, run_date timestamptz, status varchar, "
                "exit_code integer, models_run varchar, duration_seconds integer)")
    con.execute("insert into main.job_runs values ('r1', ?, 'success', 0, 'all', 60)", [STARTED])
    history = read_history(con, dt.datetime(2030, 1, 1), "job_runs")
    (run,) = history.runs
    assert history.source == "audit table job_runs" and run.nodes is None
    assert run.run_date == STARTED.astimezone().replace(tzinfo=None)  # a TIMESTAMPTZ, in local time


def test_no_history_is_said_not_raised():
    with duckdb.connect() as con:
        history = read_history(con, dt.datetime(2030, 1, 1))
    assert history.source is None and history.runs == [] and "run_history" in history.none_note
