"""The student's check, run the way a notebook runs it: cells in an IPython shell set up by ``start()``.

The check compares only the shape of the answer (columns, number of rows), holds no answer, never raises, and
never judges an older answer than the one in the answer cell.
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


def test_a_right_answer_gets_a_tick_and_word_that_values_are_graded_later(run):
    out, err = run(answer(RIGHT), CHECK)
    assert err == ""
    assert out.startswith("✓ How many phantom successes: the columns and the number of rows are right.")
    assert "other versions of the incident" in out and "compute every value with SQL" in out


def test_a_typed_in_answer_of_the_right_shape_passes_the_check_only(run):
    out, err = run(answer("select 15 as green_runs, 4 as phantom_runs"), CHECK)
    assert err == "" and "values are checked when your notebook is graded" in out


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


def test_a_dataframe_answer_is_checked_for_its_shape(capsys):
    frame = pd.DataFrame({"GREEN_RUNS": [1], "phantom_runs": [2]})
    EX.phantom_count.check(frame)
    out, err = capsys.readouterr()
    assert err == "" and out.startswith("✓")


@pytest.mark.parametrize("wrong", [42, "select 1"])
def test_not_a_query_result_is_a_message(capsys, wrong):
    EX.hours_stale.check(wrong)
    assert "not a query result" in capsys.readouterr().err


def test_a_question_holds_no_answer():
    for question in EX:
        for attribute in ("reference", "expected", "check_hidden"):
            assert not hasattr(question, attribute)
        assert not re.search(r"\bselect\b.*\bfrom\b", repr(question), re.IGNORECASE)
