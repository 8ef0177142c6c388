"""What a student hands to a check: the result of ``%%sql name <<`` (or a DataFrame), and its SQL text."""

from __future__ import annotations

import pandas as pd

from incidentlab.errors import IncidentLabError
from incidentlab.not_answered import NOT_ANSWERED_COLUMN, NOT_ANSWERED_MARK, NOT_ANSWERED_SQL

__all__ = ["NOT_ANSWERED_SQL", "AnswerError", "is_not_answered", "sql_of"]


class AnswerError(IncidentLabError):
    """The answer handed to a check is not something it can read."""


def sql_of(answer) -> str | None:
    """The SQL text behind a ``%%sql name <<`` result; None for a DataFrame."""
    if isinstance(answer, pd.DataFrame):
        return None
    if isinstance(answer, str):
        raise AnswerError(
            "the answer is a string, not a query result: run the answer cell, which starts with "
            "`%%sql answer_<name> <<`, and pass the name it stores the result under"
        )
    from sql.run.resultset import ResultSet

    if not isinstance(answer, ResultSet):
        raise AnswerError(
            f"the answer is a {type(answer).__name__}, not a query result: the answer cell must start with "
            "`%%sql answer_<name> <<`; run it again, then this cell"
        )
    # jupysql keeps the executed statement here (comments stripped; with several statements, the last one).
    statement = getattr(answer, "_statement", None)
    if not isinstance(statement, str):
        raise AnswerError(
            "this version of jupysql does not keep the SQL of a result where the course expects it "
            "(ResultSet._statement); install the course's locked versions with `make install`"
        )
    return statement


def is_not_answered(sql: str | None, frame: pd.DataFrame | None = None) -> bool:
    if sql is not None and NOT_ANSWERED_MARK.search(sql):
        return True
    return frame is not None and [str(c).lower() for c in frame.columns] == [NOT_ANSWERED_COLUMN]
