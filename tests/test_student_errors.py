"""What a student reads when a cell goes wrong, and what an answer cell shows when it works.

Cells run in an in-process IPython shell set up by ``start()``, as a notebook runs them. Every mistake ends in
one or two plain lines (no traceback, no internal path), the cell still fails, and the check under an answer
cell never judges an older answer.
"""

import re

import pytest
from lab_shell import (
    CHECK,
    MODULE,
    RIGHT,
    answer,
    as_shown,
    shell,  # noqa: F401 (a fixture: a shell on wt06 with its exercises as `ex`)
)

INTERNAL = re.compile(r"Traceback|/tmp/|site-packages|incidentlab-|\.py\b|File \"|Cell In\[|ipython-input")


@pytest.fixture
def cell(shell, capsys):
    """Run one cell: (succeeded, everything it printed)."""

    def run(source: str) -> tuple[bool, str]:
        capsys.readouterr()
        result = shell.run_cell(source)
        out, err = capsys.readouterr()
        return result.success, as_shown(out) + err

    return run


def plain(text: str) -> list[str]:
    """The lines a student reads, after checking that none of them shows a traceback or an internal path."""
    assert not INTERNAL.search(text), text
    return [line for line in text.strip().splitlines() if line.strip()]


def failed_then_check(cell, source: str) -> tuple[list[str], list[str]]:
    """A right answer first (so an older result exists), then the failing cell, then the check."""
    assert cell(answer(RIGHT))[0]
    ok, shown = cell(source)
    assert not ok, "a failing cell must fail (nbval and Run All stop on it)"
    _, checked = cell(CHECK)
    assert "✓" not in checked, "the check judged the older answer"
    return plain(shown), plain(checked)


COLUMN_CANDIDATES = ('Candidate bindings: "run_id", "run_date", "duration_ratio", "duration_seconds", '
                     '"includes_marts"')


def test_a_wrong_column_in_an_answer_cell(cell):
    shown, checked = failed_then_check(cell, answer("select runid from stg_pipeline_runs"))
    assert shown == [
        "Your answer's query failed: Binder Error: Referenced column \"runid\" not found in FROM clause! "
        + COLUMN_CANDIDATES,
        "Use a column the table has (the candidates above; `%sql describe <table>` lists them all), then run the "
        "cell again.",
    ]
    assert checked == [
        "✗ How many phantom successes: the answer cell failed when you last ran it, so there is nothing new to "
        "check: Binder Error: Referenced column \"runid\" not found in FROM clause! " + COLUMN_CANDIDATES,
        "  Fix the query, run the answer cell, then this check.",
    ]


def test_a_wrong_column_in_a_sql_cell(cell):
    ok, shown = cell("%%sql\nselect runid from stg_pipeline_runs")
    assert not ok
    assert plain(shown)[0] == ("The query failed: Binder Error: Referenced column \"runid\" not found in FROM "
                               "clause! " + COLUMN_CANDIDATES)


def test_a_wrong_table_name(cell):
    shown, checked = failed_then_check(cell, answer("select count(*) as green_runs from stg_pipeline_run"))
    assert shown == [
        "Your answer's query failed: Catalog Error: Table with name stg_pipeline_run does not exist! Did you mean "
        "\"stg_pipeline_runs\"?",
        "Use a table of the warehouse (`%sql show tables` lists them), then run the cell again.",
    ]
    assert "the answer cell failed when you last ran it" in checked[0]


PARSER_ADVICE = "Check the SQL at the caret (a missing comma, keyword, quote or parenthesis), then run the cell again."


def test_a_syntax_error_has_no_jupysql_noise(cell):
    shown, checked = failed_then_check(cell, answer("selec count(*) from stg_pipeline_runs"))
    assert shown == [
        "Your answer's query failed: Parser Error: syntax error at or near \"selec\"",
        "LINE 1: selec count(*) from stg_pipeline_runs",
        "        ^",
        PARSER_ADVICE,
    ]
    assert "snippets" not in " ".join(shown + checked) and "--with" not in " ".join(shown + checked)


@pytest.mark.parametrize("source, says", [
    ("%%sql\nselect *\nfrm stg_orders", ["The query failed: Parser Error: syntax error at or near \"stg_orders\"",
                                          "LINE 2: frm stg_orders", "            ^", PARSER_ADVICE]),
    (answer("with x as (select 1 as a) selec * from x"),
     ["Your answer's query failed: Parser Error: syntax error at or near \"selec\"",
      "LINE 1: with x as (select 1 as a) selec * from x", "                                  ^", PARSER_ADVICE]),
])
def test_a_syntax_error_keeps_the_databases_line_and_caret_and_loses_jupysqls_note(cell, source, says):
    ok, shown = cell(source)
    assert not ok
    assert plain(shown) == says
    assert not re.search(r"snippets|--with|jupysql|https?://|Original error", shown)


# One query per DuckDB error class a student can reach, with the start of what they read and of the advice.
ERROR_CLASSES = {
    "Parser": ("select count(*) as green_runs frm stg_pipeline_runs", "Parser Error: syntax error", "Check the SQL"),
    "Binder": ("select run_id, count(*) as green_runs from stg_pipeline_runs", "Binder Error: column \"run_id\" must "
               "appear in the GROUP BY clause", "Fix the query"),
    "Catalog": ("select count(*) as green_runs from stg_pipeline_run", "Catalog Error: Table with name "
                "stg_pipeline_run does not exist", "Use a table of the warehouse"),
    "Conversion": ("select cast(status as integer) as green_runs from stg_pipeline_runs",
                   "Conversion Error: Could not convert string", "A value does not convert"),
    "OutOfRange": ("select 2147483647::integer + count(*)::integer as green_runs from stg_pipeline_runs",
                   "Out of Range Error: Overflow in addition of INT32", "A result is too large for its type"),
    "InvalidInput": ("select strptime(status, '%Q') as green_runs from stg_pipeline_runs",
                     "Invalid Input Error: Failed to parse format specifier %Q", "An argument is not what"),
    "Constraint": ("create or replace table dup_keys (k integer primary key);\n"
                   "insert into dup_keys select 1 from stg_pipeline_runs",
                   "Constraint Error: PRIMARY KEY or UNIQUE constraint violation", "The statement breaks a constraint"),
}


@pytest.mark.parametrize("kind", sorted(ERROR_CLASSES))
@pytest.mark.parametrize("where", ["sql cell", "answer cell"])
def test_each_duckdb_error_class_is_plain_lines(cell, kind, where):
    sql, message, advice = ERROR_CLASSES[kind]
    if where == "answer cell":
        shown, checked = failed_then_check(cell, answer(sql))
        assert shown[0].startswith(f"Your answer's query failed: {message}"), shown
        assert checked[0].startswith("✗ How many phantom successes: the answer cell failed when you last ran it")
        assert message in checked[0] and len(checked) == 2
    else:
        ok, text = cell(f"%%sql\n{sql}")
        assert not ok
        shown = plain(text)
        assert shown[0].startswith(f"The query failed: {message}"), shown
    assert shown[-1].startswith(advice), shown
    assert len(shown) == (4 if kind == "Parser" else 2), shown


def test_a_function_that_does_not_exist_points_at_duckdbs_guess(cell):
    ok, shown = cell("%%sql\nselect get_current_timestamps()")
    assert not ok
    assert plain(shown)[1].startswith("Use a function DuckDB has")


def test_a_deleted_header_line(cell):
    shown, checked = failed_then_check(cell, RIGHT)
    assert shown == [
        "This cell holds SQL but does not start with a `%%sql` line, so Python read it and could not.",
        "If it is an answer cell, put back its first line, `%%sql answer_<name> <<` (<name> as in the "
        "`ex.<name>.check()` under it); any other SQL cell starts with `%%sql`.",
    ]
    assert checked == [
        "✗ How many phantom successes: the cell you ran before this check failed: it holds SQL without a `%%sql` "
        "first line. If it is the answer cell, its first line must be "
        "`%%sql answer_phantom_count <<`: put it back, run the cell, then this check.",
    ]


PLACEHOLDER = "-- Write your query here, then run this cell.\nselect 'not answered yet' as not_answered"


def test_a_query_typed_under_the_placeholder(cell):
    shown, checked = failed_then_check(cell, answer(f"{PLACEHOLDER}\n{RIGHT}"))
    assert shown == [
        "Your query is below the placeholder query (`select 'not answered yet' as not_answered`), which is still "
        "there.",
        "Delete the placeholder's two lines (its comment and its `select`), keep your query, then run the answer "
        "cell again.",
    ]
    assert checked == [
        "✗ How many phantom successes: your query is below the placeholder query (`select 'not answered yet' as "
        "not_answered`), which is still there: delete the placeholder's two lines (its comment and its `select`), "
        "keep your query, then run the answer cell again, then this check.",
    ]


def test_a_query_under_the_placeholder_that_runs_is_not_checked_either(cell):
    ok, shown = cell(answer(f"{PLACEHOLDER};\n{RIGHT}"))
    assert ok
    assert plain(shown) == [
        "Your query is below the placeholder query (`select 'not answered yet' as not_answered`), which is still "
        "there: delete the placeholder's two lines (its comment and its `select`), keep your query, then run the "
        "answer cell again."
    ]
    _, checked = cell(CHECK)
    assert "✓" not in checked and "delete the placeholder's two lines" in checked


def test_a_successful_answer_cell_shows_its_rows_and_the_next_step(cell):
    ok, shown = cell(answer("select run_id, status from stg_pipeline_runs order by run_id limit 3"))
    lines = plain(shown)
    assert ok, shown
    assert re.match(r"^\|\s+run_id\s+\|\s+status\s+\|$", lines[1]), lines
    assert len([line for line in lines if re.match(r"^\|\s+run_\d+\s+\|\s+success\s+\|$", line)]) == 3
    assert lines[-1] == ("answer_phantom_count holds 3 rows; `ex.phantom_count.check()` below checks its columns "
                         "and number of rows.")


def test_the_placeholder_shows_not_answered_and_no_table(cell):
    ok, shown = cell(answer(PLACEHOLDER))
    assert ok
    assert plain(shown) == ["Not answered yet: replace the placeholder query with yours, then run this cell again."]


def test_an_answer_grading_refuses_says_why_and_shows_no_rows(cell):
    ok, shown = cell(answer(f"select 1 as green_runs;\n{RIGHT}"))
    assert ok
    assert plain(shown) == ["Grading will refuse this answer: the answer cell holds 2 statements; it must hold one "
                            "query (keep only the last one)."]


@pytest.mark.parametrize("line, says", [
    ("rn --select staging.*", ["`rn` is not a dbt command. Did you mean `%dbt run`? The commands are build, "
                               "compile, ls, list, parse, run, seed, show, snapshot, source, test; e.g. `%dbt ls "
                               "--select staging.*`, `%dbt run --select marts.*` or `%dbt source freshness`."]),
    ("", ["%dbt needs a command after it, e.g. `%dbt ls --select staging.*`, `%dbt run --select marts.*` or "
          "`%dbt source freshness`."]),
])
def test_a_dbt_line_mistake(cell, line, says):
    ok, shown = cell(f"%dbt {line}")
    assert not ok
    assert plain(shown) == says


def test_a_dbt_selector_that_matches_nothing(cell):
    ok, shown = cell("%dbt ls --select stg_ordrs+")
    assert ok  # dbt ran; it selected nothing
    assert [line.strip() for line in plain(shown)] == [
        "dbt ls --select stg_ordrs+",
        "no model, test or source matches `stg_ordrs+`; `%dbt ls` lists them all (`staging.*` selects a folder, "
        "`stg_orders+` a model and what depends on it)",
    ]


@pytest.fixture
def stg_orders(shell):
    from incidentlab.notebook import current_lab

    path = current_lab().model_file("stg_orders")
    original = path.read_text(encoding="utf-8")
    yield current_lab()
    path.write_text(original, encoding="utf-8")


def test_a_model_that_does_not_compile(cell, stg_orders):
    stg_orders.write_model("stg_orders", "select * from {{ ref('stg_nosuch') }}")
    ok, shown = cell("%dbt run --select stg_orders")
    assert not ok
    assert plain(shown) == [
        "dbt could not run `dbt run --select stg_orders`: Compilation Error: Model 'model.acme.stg_orders' "
        "(models/staging/stg_orders.sql) depends on a node named 'stg_nosuch' which was not found",
        'Fix model stg_orders: `lab.show_model("stg_orders")` shows it, `lab.write_model("stg_orders", sql)` '
        "rewrites it; then run `%dbt` again.",
    ]


def test_a_model_whose_sql_fails_shows_the_database_message(cell, stg_orders):
    stg_orders.write_model("stg_orders", "select nosuch from raw_orders")
    ok, shown = cell("%dbt run --select stg_orders")
    assert ok  # dbt ran and reports the model's error, as `dbt run` does
    assert plain(shown)[1].strip() == (
        "ERROR   model   stg_orders  Runtime Error in model stg_orders (models/staging/stg_orders.sql): Catalog "
        "Error: Table with name raw_orders does not exist! Did you mean \"raw.raw_orders\"?")


def test_an_incidentlab_error_in_python_is_one_line(cell):
    ok, shown = cell('lab = __import__("incidentlab.notebook").notebook.current_lab()\nlab.model_file("stg_ordrs")')
    assert not ok
    assert plain(shown) == ["there is no model named 'stg_ordrs'; the models are fct_daily_signups, "
                            "fct_revenue_daily, stg_events, stg_orders, stg_pipeline_runs."]


@pytest.mark.parametrize("source, error", [
    ("1 / 0", "ZeroDivisionError"), ("def f(:\n    pass", "SyntaxError"),
    ("import incidentlab.notebook as nb\nnb.current_lab().query('select nosuch')", "BinderException")])
def test_other_python_errors_are_left_alone(cell, source, error):
    ok, shown = cell(source)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", shown)  # IPython's colours
    assert not ok
    assert error in shown and ("Traceback" in shown or "Cell In" in shown)


@pytest.mark.slow
def test_in_a_kernel_the_plain_lines_are_the_cells_error(warehouses):
    """In Jupyter the lines are an error output: nbval, nbconvert and Run All still stop on the failing cell."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(f'from incidentlab.notebook import start\nlab = start("{MODULE}")'),
        nbformat.v4.new_code_cell(answer("select runid from stg_pipeline_runs")),
    ])
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True).execute()
    [output] = nb.cells[1].outputs
    assert output.output_type == "error"
    assert plain("\n".join(output.traceback))[0].startswith("Your answer's query failed: Binder Error:")


def test_rewriting_a_model_as_a_cells_last_line_shows_one_plain_line(cell, stg_orders):
    ok, shown = cell('lab = __import__("incidentlab.notebook").notebook.current_lab()\n'
                     'lab.write_model("stg_orders", lab.model_file("stg_orders").read_text())')
    assert ok
    assert plain(shown) == ["stg_orders rewritten in this notebook's copy of the dbt project; run "
                            "`%dbt run --select stg_orders+`."]



@pytest.mark.parametrize("source, subject", [("%%sql\nselect 1", "The query"), (answer(RIGHT), "Your answer's query")])
def test_a_query_the_student_stops_says_so_in_plain_lines(source, subject):
    """A stopped query (the notebook's stop button: DuckDB raises "Query interrupted", jupysql wraps it)."""
    from incidentlab.cell_errors import sql_error_lines

    try:
        try:
            raise RuntimeError("Query interrupted")
        except RuntimeError as inner:
            raise ValueError("wrapped by jupysql") from inner
    except ValueError as error:
        shown = sql_error_lines(error, source)
    assert shown == [f"{subject} was stopped before it finished (you interrupted it).",
                     "If it ran long, a join without a complete `on` condition can multiply rows without end: check "
                     "your joins, then run the cell again."]
