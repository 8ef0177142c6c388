"""An error's message as a student reads it: one line, the database's or dbt's own words, no internal path."""

from __future__ import annotations

import re

_ABSOLUTE_PATH = re.compile(r"(?<![\w.~])/[^\s'\"()]+")
_DRIVER_PREFIX = re.compile(r"^\(\S+\)\s*")  # "(duckdb.duckdb.BinderException) …"
_NOISE = ("LINE ", "line ", "If using snippets", "For more details please refer",
          "Original error message from DB driver")
_HELPFUL = ("Candidate bindings", "Did you mean")


def without_paths(text: str) -> str:
    """``text`` with every absolute path (a copy in /tmp, site-packages) replaced by an ellipsis."""
    return _ABSOLUTE_PATH.sub("…", text)


def sentence(text: str) -> str:
    """``text`` (a clause of a longer message) as a sentence of its own."""
    return f"{text[0].upper()}{text[1:]}." if text else text


def message_line(text: str) -> str:
    """A database or dbt message in one line: the first line, the line under a bare heading ("Compilation
    Error in model x (…)"), and the line that helps (candidate bindings, "did you mean"); no position marker,
    quoted source, jupysql note or path."""
    lines = []
    for line in (line.strip() for line in text.splitlines()):
        if line and not line.startswith(_NOISE) and not set(line) <= {"^", " "}:
            lines.append(_DRIVER_PREFIX.sub("", line))
    if not lines:
        return ""
    head, rest = lines[0], lines[1:]
    if "Error" in head and ":" not in head and rest:  # dbt's heading; its message is on the next line
        head, rest = f"{head}: {rest[0]}", rest[1:]
    helpful = [line for line in rest if line.startswith(_HELPFUL)]
    return without_paths(" ".join([head, *helpful[:1]]))


def _from_database(error: BaseException) -> BaseException | None:
    """The database's own exception in the chain of ``error`` (jupysql wraps it), or None."""
    found: BaseException | None = error
    while found is not None and type(found).__module__.split(".")[0] not in ("duckdb", "_duckdb"):
        found = found.__cause__ or found.__context__
    return found


def interrupted(error: BaseException) -> bool:
    """Whether ``error`` is a query the student stopped (DuckDB says "Interrupted", its Python API "Query
    interrupted"; jupysql may wrap either)."""
    found: BaseException | None = error
    while found is not None:
        text = str(found)
        if isinstance(found, KeyboardInterrupt) or "INTERRUPT Error" in text or "Query interrupted" in text:
            return True
        found = found.__cause__ or found.__context__
    return False


def position_lines(error: BaseException) -> list[str]:
    """The database's ``LINE n: <the line>`` and the caret under it, as it wrote them; [] if it wrote none."""
    lines = str(_from_database(error) or error).splitlines()
    for i, line in enumerate(lines):
        if line.startswith("LINE ") and ":" in line:
            caret = lines[i + 1] if i + 1 < len(lines) and set(lines[i + 1]) <= {" ", "^"} else ""
            return [without_paths(line), *([caret.rstrip()] if caret.strip() else [])]
    return []


def one_line(error: BaseException) -> str:
    """The message of ``error`` in one line: the database's message when the database raised it (jupysql wraps
    it), otherwise the error's type and first line."""
    found = _from_database(error)
    if interrupted(error):
        return "the query was stopped before it finished (interrupted)"
    if isinstance(error, SyntaxError):
        return f"{type(error).__name__}: {error.msg}"
    text = message_line(str(found if found is not None else error))
    if not text:
        return type(error).__name__
    if found is None and "Error" not in text.split(":", 1)[0]:
        return f"{type(error).__name__}: {text}"
    return text
