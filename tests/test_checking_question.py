"""The student's check, run the way a notebook runs it: cells in an IPython shell set up by ``start()``.

The check compares the shape of the answer (columns, number of rows), then its values against the question's
salted fingerprint (``conftest.py`` writes them beside the warehouses, as ``make warehouses`` does); it holds no
answer, never raises, and never judges an older answer than the one in the answer cell.
"""

import re

import pandas as pd
import pytest
from lab_shell import (
    CHECK,
    MODULE,
    RIGHT,
    answer,
    shell,  # noqa: F401 (a fixture: a shell on wt06 with its exercises as `ex`)
)

from incidentlab.exercises import load
from incidentlab.not_answered import NOT_ANSWERED_SQL

EX = load(MODULE)


@pytest.fixture
def run(shell, capsys):
    """Run cells in order; the output (stdout, stderr) of the last one."""

    def cells(*sources: str) -> tuple[str, str]:
        for source in sources:
            capsys.readouterr()
            shell.run_cell(source)
        return capsys.readouterr()

    return cells


VALUES_RIGHT = ("✓ How many phantom successes: your values are right on this warehouse; when graded, your query also "
                "runs on other versions of the incident.\n")


def test_a_right_answer_gets_a_tick_for_its_values_on_this_warehouse(run):
    out, err = run(answer(RIGHT), CHECK)
    assert (out, err) == (VALUES_RIGHT, "")


def test_right_values_as_floats_or_decimals_within_the_judges_tolerance_get_a_tick(run):
    within = ("select count(*) * (1 + 9e-7) as green_runs, "
              "(count(*) filter (where not includes_marts))::decimal(18, 3) as phantom_runs\n"
              "from stg_pipeline_runs where status = 'success' and exit_code = 0")
    out, err = run(answer(within), CHECK)
    assert (out, err) == (VALUES_RIGHT, "")


def test_wrong_values_of_the_right_shape_get_a_cross_naming_the_column_only(run):
    wrong = ("select count(*) as green_runs, count(*) filter (where includes_marts) as phantom_runs\n"
             "from stg_pipeline_runs where status = 'success' and exit_code = 0")
    out, err = run(answer(wrong), CHECK)
    assert out == ""
    assert err.splitlines()[:2] == ["✗ How many phantom successes: the values differ:",
                                    "  - column(s) whose values differ: phantom_runs"]
    assert "Hint:" in err and not re.search(r"\b(4|15)\b", err)


def test_a_typed_in_answer_of_the_right_values_is_told_grading_runs_other_versions(run):
    typed = load_frame(RIGHT)
    body = f"select {typed.green_runs[0]} as green_runs, {typed.phantom_runs[0]} as phantom_runs"
    out, err = run(answer(body), CHECK)
    assert (out, err) == (VALUES_RIGHT, "")
    assert "other versions of the incident" in out


def test_values_are_judged_on_the_questions_warehouse_not_the_kernels_changed_copy(run, shell):
    from incidentlab.notebook import current_lab

    current_lab().con.execute("delete from raw.raw_pipeline_runs where run_id = "
                              "(select min(run_id) from raw.raw_pipeline_runs)")
    try:
        out, err = run(answer(RIGHT), CHECK)
    finally:
        current_lab().reset()
    assert (out, err) == (VALUES_RIGHT, "")


def test_rows_right_but_unordered_for_an_ordered_question(shell, capsys):
    from incidentlab.exercises import load as load_module

    ordered = next((q for q in load_module("wt05_fan_out") if q.ordered), None)
    assert ordered is not None, "no question asks for an order: nothing to test"
    frame = key_frame("wt05_fan_out", ordered)
    ordered.check(frame.iloc[::-1].reset_index(drop=True))
    out, err = capsys.readouterr()
    assert "not in the order asked for" in err and out == ""
    ordered.check(frame)
    assert "your values are right on this warehouse" in capsys.readouterr().out


def load_frame(sql: str) -> pd.DataFrame:
    from incidentlab.notebook import current_lab

    return current_lab().query(sql)


def key_frame(module: str, question) -> pd.DataFrame:
    """The answer key's result (a test may read the key; a student's check never does)."""
    import duckdb

    from incidentlab.grading.answer_key import read_key
    from incidentlab.paths import warehouse_path

    with duckdb.connect(str(warehouse_path(module, question.stage)), read_only=True) as con:
        return con.execute(read_key(module)[question.name]).df()


def test_a_wrong_shape_says_what_is_expected_without_values(run):
    out, err = run(answer("select run_id, status from stg_pipeline_runs"), CHECK)
    assert out == ""
    assert "✗ How many phantom successes: not right yet:" in err
    assert "missing column(s): green_runs, phantom_runs" in err
    assert "unexpected column(s): run_id, status" in err
    assert "expected 1 row" in err and "Hint:" in err
    assert "Traceback" not in err


def test_duplicated_rows_are_named(run):
    out, err = run(answer("select run_id, status from stg_pipeline_runs union all "
                          "select run_id, status from stg_pipeline_runs", "fast_runs"), "ex.fast_runs.check()")
    assert "missing column(s)" in err


def test_the_placeholder_is_not_answered(run):
    _, err = run(answer(NOT_ANSWERED_SQL), CHECK)
    assert "not answered yet (0 points)" in err


def test_a_failing_answer_cell_is_not_judged_by_its_older_result(run):
    run(answer(RIGHT), CHECK)
    out, err = run(answer("select count(*) as green_runs from stg_pipeline_run"), CHECK)
    assert "✓" not in out
    assert "the answer cell failed when you last ran it" in err and "stg_pipeline_run" in err
    assert "Traceback" not in err


def test_a_deleted_header_line_is_named(run):
    run(answer(RIGHT), CHECK)
    out, err = run(RIGHT, CHECK)  # the same query without its first line: a Python syntax error
    assert "✓" not in out
    assert "its first line must be `%%sql answer_phantom_count <<`" in err


@pytest.mark.parametrize("body, says", [
    ("select 1 as green_runs;\nselect count(*) as green_runs, 4 as phantom_runs from stg_pipeline_runs",
     "2 statements"),
    ("select {{ 1 + 1 }} as green_runs, 4 as phantom_runs", "expansion"),
])
def test_what_grading_refuses_is_said_at_once(run, body, says):
    _, err = run(answer(body), CHECK)
    assert says in err


def test_a_trailing_semicolon_and_comment_are_fine(run):
    out, err = run(answer(RIGHT + ";\n-- counted from the audit log"), CHECK)
    assert err == "" and out.startswith("✓")


def test_no_answer_yet(shell, capsys):
    shell.user_ns.pop("answer_skipped_marts", None)
    EX.skipped_marts.check()
    assert "there is no answer yet" in capsys.readouterr().err


def test_a_dataframe_answer_is_checked_for_its_shape_and_values(shell, capsys):
    EX.phantom_count.check(pd.DataFrame({"GREEN_RUNS": [1], "phantom_runs": [2]}))
    out, err = capsys.readouterr()
    assert out == "" and "the values differ" in err and "green_runs, phantom_runs" in err
    right = load_frame(RIGHT).rename(columns=str.upper)[["PHANTOM_RUNS", "GREEN_RUNS"]]
    EX.phantom_count.check(right)
    assert capsys.readouterr().out == VALUES_RIGHT


def test_without_fingerprints_the_check_says_values_are_graded_later(run, monkeypatch):
    from incidentlab.checking import question

    monkeypatch.setattr(question, "load_fingerprints", lambda module: {})
    out, err = run(answer(RIGHT), CHECK)
    assert err == "" and out.startswith("✓ How many phantom successes: the columns and the number of rows are right.")
    assert "values are checked when your notebook is graded" in out


@pytest.mark.parametrize("wrong", [42, "select 1"])
def test_not_a_query_result_is_a_message(capsys, wrong):
    EX.hours_stale.check(wrong)
    assert "not a query result" in capsys.readouterr().err


def test_a_question_holds_no_answer():
    for question in EX:
        for attribute in ("reference", "expected", "check_hidden"):
            assert not hasattr(question, attribute)
        assert not re.search(r"\bselect\b.*\bfrom\b", repr(question), re.IGNORECASE)
