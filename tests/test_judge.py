"""The grader's judge: an answer cell's text in, a verdict out, on locked-down warehouses in this process."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import time

import pytest

from incidentlab.exercises import load
from incidentlab.grading.answer_key import REVIEW, Judge, read_key, typed_constants, versions
from incidentlab.grading.warehouses import Budget, LockedWarehouse, QueryError, QueryTimeout
from incidentlab.not_answered import NOT_ANSWERED_SQL
from incidentlab.paths import warehouse_path

MODULE = "wt06_data_stale"
RIGHT = ("select count(*) as green_runs, count(*) filter (where not includes_marts) as phantom_runs\n"
         "from stg_pipeline_runs where status = 'success' and exit_code = 0")


def cell(sql: str, question: str = "phantom_count") -> str:
    return f"%%sql answer_{question} <<\n{sql}"


@pytest.fixture
def judge(warehouses):
    return Judge(MODULE, query_timeout=3)


def _digests(module: str) -> dict:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest()
            for stage in ("stale", "fixed") for _, _, p in versions(module, stage)}


def test_a_right_answer_passes_everywhere(judge):
    verdict = judge.verdict("phantom_count", cell(RIGHT))
    others = len(versions(MODULE, "stale")) - 1
    assert verdict.passed and verdict.message == (
        f"✓ How many phantom successes: right, on this warehouse and on {others} other versions of the incident.")


def test_the_same_query_is_judged_once(judge, monkeypatch):
    first = judge.verdict("phantom_count", cell(RIGHT))
    with monkeypatch.context() as patched:
        patched.setattr(judge, "_run", lambda *a, **k: pytest.fail("judged again"))
        assert judge.verdict("phantom_count", cell("  " + RIGHT.upper().replace("'SUCCESS'", "'success'"))) == first
        assert judge.verdict("phantom_count", cell(RIGHT + "\n-- a comment")) == first
    assert not judge.verdict("phantom_count", cell(RIGHT.replace("'success'", "'SUCCESS'"))).passed


@pytest.mark.parametrize("source, says", [
    (cell(NOT_ANSWERED_SQL), "not answered yet (0 points)"),
    (RIGHT, "must start with the line `%%sql answer_phantom_count <<`"),
    ("%%sql answer_fast_runs <<\n" + RIGHT, "it must be exactly `%%sql answer_phantom_count <<`"),
    (cell("{{ ex.phantom_count.reference }}"), "jupysql's `{{ … }}` expansion"),
    (cell("create temp table t as select 1 as x;\n" + RIGHT), "2 statements"),
    (cell("drop table stg_pipeline_runs"), "drop statement"),
    (cell("select 15 as green_runs, 4 as phantom_runs"), "reads no table"),
    (cell("values (15, 4)"), "reads no table"),
    (cell("select $1 as green_runs from stg_pipeline_runs"), "parameter"),
    (cell("selec count(*) from stg_pipeline_runs"), "not valid SQL"),
    (cell("select count(*) as green_runs from stg_pipeline_run"), "`stg_pipeline_run`, which is not a table"),
    (cell("select count(nope) as green_runs from stg_pipeline_runs"),
     'fails on the stale warehouse: Binder Error: Referenced column "nope" not found'),
    (cell("select * from read_csv('/etc/passwd')"), "the table function `read_csv(…)`"),
])
def test_what_is_not_one_query_on_the_warehouse_gets_a_plain_verdict(judge, source, says):
    verdict = judge.verdict("phantom_count", source)
    assert not verdict.passed and says in verdict.message, verdict.message
    assert verdict.message.startswith("✗ How many phantom successes:")
    assert "Traceback" not in verdict.message


def test_a_trailing_semicolon_and_comment_line_are_one_query(judge):
    assert judge.verdict("phantom_count", cell(RIGHT + ";\n-- done\n")).passed


def test_typed_in_constants_are_named_as_such(judge):
    verdict = judge.verdict("phantom_count", cell(
        "select count(*) as green_runs, 4 as phantom_runs from stg_pipeline_runs "
        "where status = 'success' and exit_code = 0"))
    assert not verdict.passed and "right on this warehouse, but the values differ" in verdict.message
    assert "typed-in constants" in verdict.message


def test_a_logic_bug_is_not_called_a_typed_in_constant(judge):
    verdict = judge.verdict("phantom_count", cell(
        "select count(*) as green_runs, count(*) filter (where not includes_marts) as phantom_runs "
        "from stg_pipeline_runs"))
    assert not verdict.passed and "typed-in" not in verdict.message


def test_the_key_word_for_word_goes_to_the_instructor(judge):
    key = read_key(MODULE)["phantom_count"]
    verdict = judge.verdict("phantom_count", cell(key))
    assert not verdict.passed and verdict.review and REVIEW in verdict.message


def test_no_verdict_shows_a_right_value(judge):
    expected = LockedWarehouse(warehouse_path(MODULE, "stale")).run(read_key(MODULE)["hours_stale"], 30)
    verdict = judge.verdict("hours_stale", cell(
        "select 'fct_revenue_daily' as model, max(updated_at) as last_refreshed_at, 1.5 as hours_stale "
        "from fct_revenue_daily", "hours_stale"))
    assert not verdict.passed
    for value in expected.to_numpy().ravel():
        if not isinstance(value, str):
            assert str(value) not in verdict.message


def test_a_slow_query_is_stopped_and_the_submission_has_a_budget(judge):
    slow = cell("with recursive r as (select 1 as i union all select i + 1 from r where i < 100000000000)\n"
                "select count(*) as green_runs, count(*) as phantom_runs from stg_pipeline_runs, r")
    started = time.monotonic()
    verdict = judge.verdict("phantom_count", slow)
    assert not verdict.passed and "ran longer than 3 s and was stopped" in verdict.message
    assert time.monotonic() - started < 3 + 5  # killed at the limit, not when DuckDB next looks
    judge.budget = Budget(0)
    verdict = judge.verdict("phantom_count", cell(RIGHT.replace("count(*) as green", "count(1) as green")))
    assert not verdict.passed and "used up their time" in verdict.message


def test_destructive_or_escaping_sql_changes_nothing(judge, tmp_path):
    before = _digests(MODULE)
    pristine = warehouse_path(MODULE, "stale")
    for body in (f"attach '{pristine}' as original", f"copy (select 1) to '{tmp_path}/x.csv'",
                 "set enable_external_access = true", "install httpfs", "load httpfs", "pragma threads=8",
                 f"select * from read_text('{pristine.parent}/*')", "select * from glob('/*')"):
        assert not judge.verdict("phantom_count", cell(body)).passed, body
    assert _digests(MODULE) == before and not list(tmp_path.iterdir())


def test_the_locked_warehouse_refuses_files_and_settings(warehouses):
    wh = LockedWarehouse(warehouse_path(MODULE, "stale"))
    for sql in ("select * from read_csv('/etc/passwd')", "set threads = 4", "set memory_limit = '20GB'",
                "drop table stg_orders"):
        with pytest.raises(QueryError):
            wh.run(sql, 5)
    with pytest.raises(QueryTimeout):
        wh.run("select count(*) from range(100000000000)", 0.3)
    assert wh.run("select count(*) as n from stg_orders", 5).n[0] > 0


def test_the_judge_works_while_another_process_holds_a_warehouse(warehouses, tmp_path, monkeypatch):
    import shutil

    shutil.copytree(warehouses, tmp_path / "w", dirs_exist_ok=True)
    monkeypatch.setenv("INCIDENTLAB_WAREHOUSES", str(tmp_path / "w"))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys\n"
         f"con = duckdb.connect({str(tmp_path / 'w' / MODULE / 'stale' / 'acme.duckdb')!r})\n"
         "print('held', flush=True)\nsys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert Judge(MODULE).verdict("phantom_count", cell(RIGHT)).passed
    finally:
        holder.communicate("", timeout=60)


@pytest.mark.parametrize("sql, typed", [
    ("select 4 as n from t", True),
    ("select count(*) as n from t where d < date '2024-02-09'", True),
    ("select * from t where run_id = 'run_012'", True),
    ("select count(*) as n from t where status = 'success' limit 1", False),
    ("select round(x / 3600, 1) as h from t where d > now() - interval 7 days", False),
])
def test_typed_constants_heuristic(sql, typed):
    import pandas as pd

    result = pd.DataFrame({"n": [4], "run_id": ["run_012"], "model": ["fct_revenue_daily"]})
    assert typed_constants(sql, result) is typed


def test_every_question_of_the_module_is_judged(judge):
    for question in load(MODULE):
        verdict = judge.verdict(question.name, cell("select 1 as x from stg_orders", question.name))
        assert not verdict.passed and re.match(rf"✗ {re.escape(question.title)}: ", verdict.message)


def test_memory_rows_and_values_past_the_limits_are_breaches_and_the_next_query_runs(warehouses):
    from incidentlab.grading.warehouses import QueryBreach

    wh = LockedWarehouse(warehouse_path(MODULE, "stale"))
    for sql, what in (("select list(range) as x from range(600000000)", "memory"),
                      ("select range as x from range(1000000)", "rows"),
                      ("select string_agg('abcdefghij', '') as x from range(20000)", "value")):
        with pytest.raises(QueryBreach) as breach:
            wh.run(sql, 60, max_rows=10)
        assert breach.value.what == what
        assert wh.run("select count(*) as n from stg_orders", 10).n[0] > 0


def test_a_verdict_quotes_only_the_binder_and_never_about_a_variant(judge):
    verdict = judge.verdict("phantom_count", cell(
        "select count(*) as green_runs, cast('leak:' || max(run_id) as int) as phantom_runs from stg_pipeline_runs"))
    assert not verdict.passed and "with a conversion error" in verdict.message and "leak:" not in verdict.message
    assert "run_" not in verdict.message and "/" not in verdict.message.split(":", 1)[1]
