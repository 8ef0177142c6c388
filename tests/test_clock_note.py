"""A `%%sql` or answer cell that reads today's clock runs, with one line under it naming `scenario_now()`; a
string or a comment that says `now()` is not a call (the calls are read from sqlglot's parse tree)."""

import pytest
from lab_shell import (
    answer,
    as_shown,
    shell,  # noqa: F401 (a fixture: a shell on wt06 with its exercises as `ex`)
)

from incidentlab.clock_note import clock_calls, sql_of_cell

NOTE = "this is today's clock; the scenario's now is `scenario_now()` (Mon Feb 12 2024 09:00)."


@pytest.mark.parametrize("sql, calls", [
    ("select now()", ["now()"]),
    ("select current_timestamp as t", ["current_timestamp"]),
    ("select current_date", ["current_date"]),
    ("select today()", ["today()"]),
    ("select get_current_timestamp()", ["get_current_timestamp()"]),
    ("select * from t where ts > NOW() - interval 1 day and d = current_date", ["now()", "current_date"]),
    ("select 'now()' as t -- current_timestamp\n/* today() */", []),
    ("select scenario_now(), now from (select 1 as now)", []),
    ("select {{ x }} from", []),  # does not parse: the database says why
])
def test_clock_calls_come_from_the_parse_tree(sql, calls):
    assert sorted(clock_calls(sql)) == sorted(calls)


def test_only_sql_cells_are_read():
    assert sql_of_cell("%%sql answer_x <<\nselect now()") == "select now()"
    assert sql_of_cell("%sql select now()") == "select now()"
    assert sql_of_cell("print('select now()')") is None


@pytest.mark.parametrize("source, calls", [
    ("%%sql\nselect now() as t, current_date as d", "`now()`, `current_date`"),
    (answer("select count(*) as green_runs, count(*) filter (where finished_at < now()) as phantom_runs\n"
            "from stg_pipeline_runs"), "`now()`"),
    ("%sql select today() as d", "`today()`"),
])
def test_a_cell_that_reads_todays_clock_runs_and_says_so_once(shell, capsys, source, calls):
    capsys.readouterr()
    assert shell.run_cell(source).success
    out, err = capsys.readouterr()
    lines = as_shown(out).strip().splitlines()
    assert err == "" and lines[-1] == f"{calls}: {NOTE}"
    assert sum(NOTE in line for line in lines) == 1


@pytest.mark.parametrize("source", ["%%sql\nselect 'now()' as t -- current_timestamp", "%%sql\nselect scenario_now()"])
def test_no_line_without_a_call(shell, capsys, source):
    capsys.readouterr()
    assert shell.run_cell(source).success
    assert "today's clock" not in capsys.readouterr().out
