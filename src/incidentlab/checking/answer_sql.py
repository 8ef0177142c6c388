"""The SQL of an answer cell: the query under its ``%%sql answer_<name> <<`` line, checked before anything runs.

A graded answer is one query that reads the warehouse. This module reads it from the cell's text, the same way
for the student's check and for the grader, and says in one plain sentence what is wrong with a cell that is
not such a query: a missing header line, a jupysql ``{{ }}`` expansion, several statements, a statement that
is not a query. Nothing here runs the query.
"""

from __future__ import annotations

import re

import duckdb

from incidentlab.errors import IncidentLabError
from incidentlab.not_answered import NOT_ANSWERED_MARK

MAX_CELL_CHARS = 20_000
_HEADER = re.compile(r"^%%sql\s+(answer_\w+)\s*<<\s*$")


class AnswerSqlError(IncidentLabError):
    """The cell does not hold one query; the message says what to change."""


class NotAnswered(AnswerSqlError):
    """The cell still holds the release's placeholder query."""


class BelowPlaceholder(NotAnswered):
    """The student's query was written under the placeholder query, which is still there."""


PLACEHOLDER_LEFT = ("your query is below the placeholder query (`select 'not answered yet' as not_answered`), "
                    "which is still there")
PLACEHOLDER_FIX = ("delete the placeholder's two lines (its comment and its `select`), keep your query, then run "
                   "the answer cell again")
_PLACEHOLDER_QUERY = re.compile(rf"select\s+{NOT_ANSWERED_MARK.pattern}\s*;?", re.IGNORECASE)


def header(question: str) -> str:
    return f"%%sql answer_{question} <<"


def stored_name(source: str) -> str | None:
    """The variable a ``%%sql answer_<name> <<`` cell stores its result in, or None for any other cell."""
    first = source.lstrip().split("\n", 1)[0].strip()
    match = _HEADER.match(first)
    return match.group(1) if match else None


_SQL_START = re.compile(r"^\s*(select|with|from|describe|show|summarize|pivot|values|explain|create|insert|"
                        r"update|delete|drop|alter)\b", re.IGNORECASE)


def looks_like_sql(source: str) -> bool:
    """The cell starts (after SQL comments) with an SQL keyword: SQL that lost its ``%%sql`` first line."""
    code = [line for line in source.splitlines() if line.strip() and not line.strip().startswith("--")]
    return bool(code) and bool(_SQL_START.match(code[0]))


def _without_comments(sql: str) -> str:
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.DOTALL)
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def normalized(sql: str) -> str:
    """The query without comments, spacing, trailing semicolons and the case of anything but its quoted text:
    two texts of one query compare equal."""
    parts = re.split(r"('(?:[^']|'')*')", _without_comments(sql))
    text = "".join(part if part.startswith("'") else part.lower() for part in parts)
    return " ".join(text.split()).rstrip("; ").strip()


def below_placeholder(sql: str) -> bool:
    """``sql`` holds the placeholder query and more SQL besides it."""
    return bool(NOT_ANSWERED_MARK.search(sql)) and bool(normalized(_PLACEHOLDER_QUERY.sub(" ", sql)))


def query_of(source: str, question: str) -> str:
    """The one query of an answer cell; ``AnswerSqlError`` (or ``NotAnswered``) says why there is none."""
    if len(source) > MAX_CELL_CHARS:  # before anything reads it: a huge cell costs nothing to refuse
        raise AnswerSqlError(f"the answer cell holds {len(source):,} characters; an answer is at most "
                             f"{MAX_CELL_CHARS:,}")
    stripped = source.lstrip()
    first, _, body = stripped.partition("\n")
    if stored_name(stripped) != f"answer_{question}":
        found = first.strip()
        if found.startswith("%%sql"):
            raise AnswerSqlError(f"the answer cell's first line is `{found[:60]}`; it must be exactly "
                                 f"`{header(question)}`")
        raise AnswerSqlError(f"the answer cell must start with the line `{header(question)}` (it was deleted or "
                             "changed): put it back as the first line, above your query")
    if below_placeholder(body):
        raise BelowPlaceholder(f"{PLACEHOLDER_LEFT}: {PLACEHOLDER_FIX}")
    if NOT_ANSWERED_MARK.search(body):
        raise NotAnswered("not answered yet (0 points): replace the placeholder query with yours")
    if not normalized(body):
        raise AnswerSqlError("the answer cell holds no query under its first line")
    if re.search(r"\{\{|\}\}|\{%|%\}", body):
        raise AnswerSqlError("the query uses jupysql's `{{ … }}` expansion; write the query itself, with no "
                             "Python variables in it")
    try:
        statements = duckdb.connect().extract_statements(body)
    except duckdb.Error as exc:
        raise AnswerSqlError(f"the query is not valid SQL: {first_line(exc)}") from None
    if len(statements) != 1:
        raise AnswerSqlError(f"the answer cell holds {len(statements)} statements; it must hold one query "
                             "(keep only the last one)")
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        kind = statement.type.name.lower().replace("_", " ")
        raise AnswerSqlError(f"the answer is a {kind} statement; it must be one query that reads the warehouse "
                             "(`select …` or `with … select …`)")
    if statement.named_parameters:
        raise AnswerSqlError("the query uses a parameter (`$name` or `?`); write the values' computation in SQL")
    return body.strip()


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
