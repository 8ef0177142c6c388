"""What an answer cell shows when it runs: its result's first rows and one line on what comes next.

jupysql's ``%%sql answer_<name> <<`` stores the result and shows nothing. ``start()`` registers
``show_answer`` on IPython's ``post_run_cell`` event: after an answer cell that succeeded, it shows the result
as a plain ``%%sql`` cell would (up to jupysql's display limit), then how many rows it has and which check reads
it — or, for a cell that grading would refuse (``answer_sql``, the allow-list of ``sql_allowlist``), why.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from incidentlab.checking.answer_sql import (
    AnswerSqlError,
    BelowPlaceholder,
    NotAnswered,
    query_of,
    stored_name,
)
from incidentlab.checking.sql_allowlist import check_in_lab
from incidentlab.error_text import sentence


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def next_step(source: str, result, con=None) -> tuple[bool, str]:
    """Whether to show the result of an answer cell, and the line under it."""
    variable = stored_name(source) or ""  # called for answer cells only
    name = variable.removeprefix("answer_")
    try:
        check_in_lab(query_of(source, name), con)
    except BelowPlaceholder as exc:
        return False, sentence(str(exc))
    except NotAnswered:
        return False, "Not answered yet: replace the placeholder query with yours, then run this cell again."
    except AnswerSqlError as exc:
        return False, f"Grading will refuse this answer: {exc}."
    return True, (f"{variable} holds {_rows(len(result))}; `ex.{name}.check()` below checks its columns and "
                  "number of rows.")


def show_answer(result, con=None) -> None:
    """After an answer cell that succeeded, its result and the next step (``con``: the lab's warehouse, whose
    tables the allow-list knows)."""
    source = result.info.raw_cell if result.info is not None else ""
    variable = stored_name(source)
    if variable is None or not result.success:
        return
    from IPython import get_ipython
    from IPython.display import display

    stored = get_ipython().user_ns.get(variable)
    if stored is None:
        return
    show, line = next_step(source, stored, con)
    if show:
        display(stored)
    print(line)


def _no_lab() -> duckdb.DuckDBPyConnection | None:
    return None


_connection: Callable[[], duckdb.DuckDBPyConnection | None] = _no_lab


def _show_with_connection(result) -> None:
    show_answer(result, _connection())


def install(ip, connection: Callable[[], duckdb.DuckDBPyConnection | None]) -> None:
    """Show every answer cell's result in the shell ``ip`` (registered once per kernel, so the order of the
    kernel's cell callbacks stays); ``connection()`` is the latest lab's warehouse at the time of the cell."""
    global _connection
    _connection = connection
    if _show_with_connection not in ip.events.callbacks["post_run_cell"]:
        ip.events.register("post_run_cell", _show_with_connection)
