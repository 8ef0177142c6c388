"""What an answer cell shows when it runs: its result's first rows and one line on what comes next.

jupysql's ``%%sql answer_<name> <<`` stores the result and shows nothing. ``start()`` registers
``show_answer`` on IPython's ``post_run_cell`` event: after an answer cell that succeeded, it shows the result
as a plain ``%%sql`` cell would (up to jupysql's display limit), then how many rows it has and which check reads
it — or, for a cell that grading would refuse (``answer_sql``, the allow-list of ``sql_allowlist``), why.
"""

from __future__ import annotations

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


def next_step(source: str, result) -> tuple[bool, str]:
    """Whether to show the result of an answer cell, and the line under it."""
    variable = stored_name(source) or ""  # called for answer cells only
    name = variable.removeprefix("answer_")
    try:
        check_in_lab(query_of(source, name))
    except BelowPlaceholder as exc:
        return False, sentence(str(exc))
    except NotAnswered:
        return False, "Not answered yet: replace the placeholder query with yours, then run this cell again."
    except AnswerSqlError as exc:
        return False, f"Grading will refuse this answer: {exc}."
    return True, (f"{variable} holds {_rows(len(result))}; `ex.{name}.check()` below checks its columns and "
                  "number of rows.")


def show_answer(result) -> None:
    """IPython's ``post_run_cell`` callback: after an answer cell that succeeded, its result and the next step."""
    source = result.info.raw_cell if result.info is not None else ""
    variable = stored_name(source)
    if variable is None or not result.success:
        return
    from IPython import get_ipython
    from IPython.display import display

    stored = get_ipython().user_ns.get(variable)
    if stored is None:
        return
    show, line = next_step(source, stored)
    if show:
        display(stored)
    print(line)


def install(ip) -> None:
    """Show every answer cell's result in the shell ``ip`` (once per kernel)."""
    if show_answer not in ip.events.callbacks["post_run_cell"]:
        ip.events.register("post_run_cell", show_answer)
