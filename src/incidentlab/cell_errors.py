"""What a student reads when a cell fails: one or two plain lines, no traceback, no internal path.

``start()`` installs ``CellErrors.show`` as IPython's custom exception handler. It speaks for three kinds of failure:

- an error of the ``sql`` magic (a ``%%sql`` cell, an answer cell, a ``%sql`` line): the database's own message
  (the candidate columns of a Binder error, the "did you mean" of a Catalog error) and what to do;
- a cell of SQL whose ``%%sql`` first line is missing, which Python reads and cannot parse;
- an ``IncidentLabError`` (a ``%dbt`` mistake, a model that does not exist, …): its message says what to do.

Every other error is shown as IPython shows it. The cell still fails: the lines are the error's traceback, so
the kernel reports an error, nbval and nbconvert stop on it, and the answer log records the failure.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from incidentlab.checking.answer_sql import (
    PLACEHOLDER_FIX,
    PLACEHOLDER_LEFT,
    below_placeholder,
    header,
    looks_like_sql,
    stored_name,
)
from incidentlab.error_text import interrupted, one_line, position_lines, sentence, without_paths
from incidentlab.errors import IncidentLabError

_ADVICE = [  # (what the database's message holds, what to do), first match wins
    (("Referenced column", "Candidate bindings"),
     "Use a column the table has (the candidates above; `%sql describe <table>` lists them all), then run the cell "
     "again."),
    (("Function with name",), "Use a function DuckDB has (its \"did you mean\" above is the closest name), then "
                              "run the cell again."),
    (("Catalog Error",), "Use a table of the warehouse (`%sql show tables` lists them), then run the cell again."),
    (("Parser Error", "syntax error"),
     "Check the SQL at the caret (a missing comma, keyword, quote or parenthesis), then run the cell again."),
    (("Conversion Error",), "A value does not convert to that type: check the cast (`try_cast` gives null where it "
                            "cannot convert), then run the cell again."),
    (("Out of Range Error",), "A result is too large for its type: cast to a wider one (`bigint`, `double`) before "
                              "the arithmetic, then run the cell again."),
    (("Invalid Input Error",), "An argument is not what the function expects (a format, a unit, a value): check it "
                               "against DuckDB's documentation of the function, then run the cell again."),
    (("Constraint Error",), "The statement breaks a constraint of the table (a duplicate key, a null where none "
                            "may be); graded answers only read tables, with one `select`."),
]


def _advice(message: str) -> str:
    for marks, advice in _ADVICE:
        if any(mark in message for mark in marks):
            return advice
    return "Fix the query, then run the cell again."


def sql_error_lines(error: BaseException, source: str) -> list[str]:
    """The lines a failing ``%%sql`` cell (answer cell or not) shows: the database's message, for a syntax error
    the line and caret it points with, and what to do."""
    if stored_name(source) and below_placeholder(source.lstrip().partition("\n")[2]):
        return [sentence(PLACEHOLDER_LEFT), sentence(PLACEHOLDER_FIX)]
    subject = "Your answer's query" if stored_name(source) else "The query"
    if interrupted(error):
        return [f"{subject} was stopped before it finished (you interrupted it).",
                "If it ran long, a join without a complete `on` condition can multiply rows without end: check your "
                "joins, then run the cell again."]
    message = one_line(error)
    where = position_lines(error) if "Parser Error" in message else []
    return [f"{subject} failed: {message}", *where, _advice(message)]


def missing_header_lines() -> list[str]:
    return ["This cell holds SQL but does not start with a `%%sql` line, so Python read it and could not.",
            f"If it is an answer cell, put back its first line, `{header('<name>')}` (<name> as in the "
            "`ex.<name>.check()` under it); any other SQL cell starts with `%%sql`."]


def _from_sql_magic(tb) -> bool:
    import sql

    package = str(Path(sql.__file__).parent)
    return any(frame.f_code.co_filename.startswith(package) for frame, _ in traceback.walk_tb(tb))


class CellErrors:
    """The custom exception handler, and the cell it speaks of (IPython's ``pre_run_cell`` records it)."""

    def __init__(self) -> None:
        self.source = ""

    def remember(self, info) -> None:
        self.source = getattr(info, "raw_cell", "") or ""

    def lines(self, etype, value, tb) -> list[str] | None:
        """The plain lines for this error, or None: IPython shows it as it would."""
        if isinstance(value, SyntaxError) and looks_like_sql(self.source):
            return missing_header_lines()
        if isinstance(value, IncidentLabError):
            return [without_paths(line) for line in str(value).strip().splitlines()[:2]] or [etype.__name__]
        if _from_sql_magic(tb):
            return sql_error_lines(value, self.source)
        return None

    def show(self, shell, etype, value, tb, tb_offset=None):
        lines = self.lines(etype, value, tb)
        if lines is None:
            shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        else:
            shell._showtraceback(etype, value, ["\n".join(lines)])  # the kernel sends them as the error's text
        return None


_HANDLER = CellErrors()


def install(ip) -> None:
    """Show the errors of the cells ``ip`` runs as plain lines (once per kernel)."""
    if _HANDLER.remember not in ip.events.callbacks["pre_run_cell"]:
        ip.events.register("pre_run_cell", _HANDLER.remember)
    ip.set_custom_exc((Exception,), _HANDLER.show)
