"""A line under an SQL cell that reads today's clock (``now()``, ``current_timestamp``, ``current_date``,
``today()``, ``get_current_timestamp()``...): the scenario has its own, ``scenario_now()``.

``start()`` registers ``ClockNote.after_cell`` on IPython's ``post_run_cell`` event. The calls are found in the
query's parse tree (sqlglot, DuckDB's dialect), so a string or a comment that says ``now()`` is not one, and a
column named ``now`` is not either. The cell runs as written: the line only says what it read.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp

# sqlglot's nodes for today's clock, and the names it leaves as plain function calls
_CLOCK_NODES = tuple(node for node in (getattr(exp, name, None) for name in (
    "CurrentTimestamp", "CurrentDate", "CurrentTime", "CurrentDatetime", "Localtimestamp", "Localtime"))
    if node is not None)
_CLOCK_NAMES = {"now", "today", "get_current_timestamp", "get_current_time", "transaction_timestamp",
                "current_localtimestamp", "current_localtime"}


def sql_of_cell(source: str) -> str | None:
    """The SQL of a ``%%sql`` cell (answer cells included) or a ``%sql`` line; None for any other cell."""
    text = source.lstrip()
    if text.startswith("%%sql"):
        return text.partition("\n")[2]
    if text.startswith("%sql ") and "\n" not in text.strip():
        return text[len("%sql "):]
    return None


def clock_calls(sql: str) -> list[str]:
    """How the query calls today's clock (``now()``, ``current_date``...), in order, once each; [] when it does
    not, or when it cannot be parsed (the database then says why)."""
    try:
        trees = sqlglot.parse(sql, read="duckdb")
    except (sqlglot.errors.SqlglotError, ValueError, RecursionError):
        return []
    found: list[str] = []
    for tree in trees:
        if tree is None:
            continue
        for node in tree.walk():
            if isinstance(node, _CLOCK_NODES):
                name = _written(sql, node.key)
            elif isinstance(node, exp.Anonymous) and str(node.this).lower() in _CLOCK_NAMES:
                name = f"{str(node.this).lower()}()"
            else:
                continue
            if name not in found:
                found.append(name)
    return found


def _written(sql: str, key: str) -> str:
    """How the student wrote a clock node: ``today()`` parses as current_date, ``current_timestamp()`` with or
    without parentheses."""
    if key == "currentdate" and "today" in sql.lower():
        return "today()"
    return {"currenttimestamp": "current_timestamp", "currentdate": "current_date", "currenttime": "current_time",
            "currentdatetime": "current_datetime", "localtimestamp": "localtimestamp",
            "localtime": "localtime"}.get(key, key)


def note(calls: list[str], scenario_now: str) -> str:
    shown = ", ".join(f"`{call}`" for call in calls)
    return f"{shown}: this is today's clock; the scenario's now is `scenario_now()` ({scenario_now})."


class ClockNote:
    """The ``post_run_cell`` callback; ``now`` gives the scenario's now as text (the lab's clock)."""

    def __init__(self, now: Callable[[], str]):
        self.now = now

    def after_cell(self, result) -> None:
        source = result.info.raw_cell if result.info is not None else ""
        if not result.success:
            return
        sql = sql_of_cell(source)
        calls = clock_calls(sql) if sql else []
        if not calls:
            return
        try:
            now = self.now()
        except Exception:  # the lab was closed since: the note is not worth an error
            return
        print(note(calls, now), flush=True)


_NOTE: ClockNote | None = None


def install(ip, now: Callable[[], str]) -> None:
    """Say so under every SQL cell of the shell ``ip`` that reads today's clock (once per kernel; ``now`` is the
    latest lab's)."""
    global _NOTE
    if _NOTE is None:
        _NOTE = ClockNote(now)
        ip.events.register("post_run_cell", _NOTE.after_cell)
    else:
        _NOTE.now = now
