"""Visible and hidden checks of a real question, on answers run the way a notebook runs them (``%%sql x <<``)."""

import hashlib

import pandas as pd
import pytest

from incidentlab.checking import NOT_ANSWERED_SQL, Question, QueryError, QueryTimeout, private_copy, run_query
from incidentlab.checking import warehouses as checking_warehouses
from incidentlab.checking.question import ReferenceQueryError
from incidentlab.paths import warehouse_path

MODULE = "wt06_data_stale"
LAST_DAY = Question(
    module=MODULE,
    name="last_day",
    title="Last day on the dashboard",
    reference="select max(order_date) as max_date from fct_revenue_daily",
    hint="The dashboard reads fct_revenue_daily.",
)
DAILY = Question(
    module=MODULE,
    name="daily",
    title="Orders per day, newest first",
    reference="select order_date, order_count from fct_revenue_daily order by order_date desc",
    ordered=True,
)
RIGHT_LAST_DAY = "select max(order_date) as max_date from fct_revenue_daily"
TYPED_LAST_DAY = "select date '2024-02-08' as max_date"


@pytest.fixture(scope="module")
def shell(warehouses):
    """An IPython shell set up the way a notebook's first cell sets it up."""
    from IPython.core.interactiveshell import InteractiveShell

    from incidentlab.notebook import start

    ip = InteractiveShell.instance()
    lab = start(MODULE)
    yield ip
    lab.close()


@pytest.fixture
def answer(shell):
    def run(sql: str):
        shell.run_cell_magic("sql", "answer_under_test <<", sql)
        return shell.user_ns["answer_under_test"]

    return run


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_right_answer_passes_both_checks(answer, capsys):
    result = answer(RIGHT_LAST_DAY)
    LAST_DAY.check(result)
    LAST_DAY.check_hidden(result)
    out, err = capsys.readouterr()
    assert err == ""
    assert "✓ Last day on the dashboard: the columns and the number of rows are right" in out
    assert "✓ Last day on the dashboard: the values are right" in out


def test_equivalent_answer_with_other_case_and_types_passes(answer, capsys):
    result = answer("select cast(max(order_date) as timestamp) as MAX_DATE from fct_revenue_daily")
    LAST_DAY.check_hidden(result)
    assert capsys.readouterr().err == ""


def test_typed_in_constant_passes_visible_but_fails_hidden_on_the_variant(answer, capsys):
    result = answer(TYPED_LAST_DAY)
    LAST_DAY.check(result)
    out, err = capsys.readouterr()
    assert err == "" and "✓" in out
    LAST_DAY.check_hidden(result)
    out, err = capsys.readouterr()
    assert "hidden check 2 of 2 failed" in err and "typed-in constants" in err
    assert "✓" not in out
    variant_day = str(LAST_DAY.expected(variant=True).iloc[0, 0].date())
    assert variant_day not in err


def test_not_answered_stub_says_so_on_stderr_without_raising(answer, capsys):
    result = answer(NOT_ANSWERED_SQL)
    LAST_DAY.check(result)
    LAST_DAY.check_hidden(result)
    out, err = capsys.readouterr()
    assert err.count("not answered yet (0 points)") == 2
    assert out == ""


def test_wrong_shape_says_what_is_expected_without_values(answer, capsys):
    result = answer("select order_date, revenue from fct_revenue_daily")
    LAST_DAY.check(result)
    err = capsys.readouterr().err
    assert "missing column(s): max_date" in err
    assert "unexpected column(s): order_date, revenue" in err
    assert "Hint: The dashboard reads fct_revenue_daily." in err
    assert "2024-02-08" not in err


def test_wrong_values_fail_hidden_check_one_without_values(answer, capsys):
    result = answer("select min(order_date) as max_date from fct_revenue_daily")
    LAST_DAY.check_hidden(result)
    err = capsys.readouterr().err
    assert "hidden check 1 of 2 failed" in err and "column(s) whose values differ: max_date" in err
    assert "2024-02-08" not in err


def test_order_matters_only_for_ordered_questions(answer, capsys):
    ascending = answer("select order_date, order_count from fct_revenue_daily order by order_date")
    DAILY.check(ascending)
    assert capsys.readouterr().err == ""
    DAILY.check_hidden(ascending)
    assert "not in the order asked for" in capsys.readouterr().err
    DAILY.check_hidden(answer(DAILY.reference))
    assert capsys.readouterr().err == ""


def test_fan_out_fails_and_names_the_duplicates(answer, capsys):
    fanned = answer(
        "select r.order_date, r.order_count from fct_revenue_daily as r "
        "join stg_orders as o on o.order_date = r.order_date order by r.order_date desc"
    )
    DAILY.check(fanned)
    assert "exact copies of other rows" in capsys.readouterr().err


def test_sql_error_is_a_message_not_an_exception(answer, capsys):
    result = answer(RIGHT_LAST_DAY)
    result._statement = "select max(order_day) as max_date from fct_revenue_daily"
    LAST_DAY.check(result)
    err = capsys.readouterr().err
    assert "your query fails on the stale warehouse" in err and "order_day" in err


def test_sql_error_only_on_the_variant_is_a_message(answer, capsys):
    fails_later = answer(
        "select case when max(order_date) > date '2024-03-01' then error('no such day') "
        "else max(order_date) end as max_date from fct_revenue_daily"
    )
    LAST_DAY.check_hidden(fails_later)
    err = capsys.readouterr().err
    assert "hidden check 2 of 2 failed: your query fails on another version of the incident" in err
    assert "no such day" in err


def test_a_slow_query_is_interrupted_with_a_message(answer, capsys, monkeypatch):
    monkeypatch.setattr(checking_warehouses, "TIME_LIMIT_SECONDS", 0.5)
    result = answer(RIGHT_LAST_DAY)
    result._statement = "select count(*) as max_date from range(1000000000) as a, range(1000000000) as b"
    LAST_DAY.check(result)
    err = capsys.readouterr().err
    assert "ran longer than 0.5 s and was stopped" in err and "joins" in err


def test_run_query_interrupts(warehouses):
    with pytest.raises(QueryTimeout):
        run_query(private_copy(MODULE, "stale"), "select count(*) from range(100000000000)", time_limit=0.3)


@pytest.mark.parametrize("statement", [
    "drop table fct_revenue_daily",
    "delete from fct_revenue_daily",
    "create or replace table fct_revenue_daily as select 1 as x",
    "attach '{pristine}' as original; drop table original.fct_revenue_daily",
    "copy (select 1) to '{pristine}.csv'",
])
def test_destructive_sql_changes_nothing(answer, capsys, statement):
    pristine = warehouse_path(MODULE, "stale")
    before = {p: _digest(p) for p in (pristine, warehouse_path(MODULE, "stale", variant=True))}
    result = answer(RIGHT_LAST_DAY)
    result._statement = statement.format(pristine=pristine)
    LAST_DAY.check(result)
    LAST_DAY.check_hidden(result)
    assert capsys.readouterr().err.count("✗") == 2
    assert {p: _digest(p) for p in before} == before
    assert not pristine.with_name(pristine.name + ".csv").exists()
    LAST_DAY.check_hidden(answer(RIGHT_LAST_DAY))
    assert capsys.readouterr().err == ""


def test_query_error_from_run_query(warehouses):
    with pytest.raises(QueryError, match="read-only"):
        run_query(private_copy(MODULE, "stale"), "drop table fct_revenue_daily")


def test_dataframe_answer_gets_the_visible_check_and_hidden_values(warehouses, capsys):
    right = LAST_DAY.expected().copy()
    LAST_DAY.check(right)
    assert capsys.readouterr().err == ""
    LAST_DAY.check_hidden(right)
    assert "needs your SQL" in capsys.readouterr().err


@pytest.mark.parametrize("wrong", [42, "select 1", None])
def test_not_a_query_result_is_a_message(warehouses, capsys, wrong):
    LAST_DAY.check(wrong)
    assert "not a query result" in capsys.readouterr().err


def test_fixed_stage_question_uses_the_fixed_warehouse(answer, capsys):
    fixed = Question(MODULE, "fixed_last_day", "Last day after the catch-up", RIGHT_LAST_DAY, stage="fixed")
    assert fixed.expected().iloc[0, 0] > LAST_DAY.expected().iloc[0, 0]
    fixed.check_hidden(answer(RIGHT_LAST_DAY))
    assert capsys.readouterr().err == ""
    fixed.check_hidden(answer(TYPED_LAST_DAY))
    assert "hidden check 1 of 2 failed" in capsys.readouterr().err


def test_a_broken_reference_is_a_course_bug(warehouses):
    broken = Question(MODULE, "broken", "Broken", "select nothing from nowhere")
    with pytest.raises(ReferenceQueryError, match="broken fails on the stale warehouse"):
        broken.expected()


def test_questions_validate_their_definition():
    with pytest.raises(ValueError, match="stage"):
        Question(MODULE, "x", "X", "select 1", stage="later")
    with pytest.raises(ValueError, match="identifier"):
        Question(MODULE, "hours-stale", "X", "select 1")
    assert "max(order_date)" not in repr(LAST_DAY)


def test_private_copies_are_read_only_and_keep_the_file_name(warehouses):
    copy = private_copy(MODULE, "stale", variant=True)
    assert copy.name == "acme.duckdb"
    assert copy != warehouse_path(MODULE, "stale", variant=True)
    assert private_copy(MODULE, "stale", variant=True) == copy
    assert isinstance(run_query(copy, "select scenario_now() as now"), pd.DataFrame)


def test_a_result_without_its_sql_is_a_message(answer, capsys):
    result = answer(RIGHT_LAST_DAY)
    del result._statement
    LAST_DAY.check(result)
    assert "does not keep the SQL of a result" in capsys.readouterr().err


def test_checks_run_while_another_process_holds_the_warehouse(warehouses, tmp_path, monkeypatch, answer, capsys):
    import shutil
    import subprocess
    import sys

    for stage in ("stale", "stale-variant"):
        shutil.copytree(warehouses / MODULE / stage, tmp_path / MODULE / stage)
    monkeypatch.setenv("INCIDENTLAB_WAREHOUSES", str(tmp_path))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         f"con = duckdb.connect({str(warehouse_path(MODULE, 'stale'))!r})\nprint('held', flush=True)\n"
         "sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        LAST_DAY.check_hidden(answer(RIGHT_LAST_DAY))
        out, err = capsys.readouterr()
        assert err == "" and "✓" in out
    finally:
        holder.communicate("", timeout=60)
