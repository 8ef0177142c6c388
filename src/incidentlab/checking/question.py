"""A graded question as the student's notebook sees it, and the check its test cell calls.

The check compares what a student can be told without giving the answer away: the column names and the number
of rows of their result, then its values against the question's salted fingerprint (``checking.fingerprint``):
right or not on this warehouse, and which columns differ. It holds no reference query and no expected value; the
grader's verdict, on the other versions of the incident too, comes from the answer key on the instructor's side
(``incidentlab.grading.answer_key``).

A check never raises: what is wrong goes to stderr in plain words (nbgrader scores a test cell with stderr
output 0), success is one line on stdout. It never judges an older answer than the one the answer cell holds.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from incidentlab.checking.answer_log import answer_log
from incidentlab.checking.answer_sql import (
    PLACEHOLDER_FIX,
    PLACEHOLDER_LEFT,
    AnswerSqlError,
    BelowPlaceholder,
    NotAnswered,
    below_placeholder,
    header,
    looks_like_sql,
    query_of,
)
from incidentlab.checking.compare import shape_problems
from incidentlab.checking.fingerprint import load as load_fingerprints
from incidentlab.checking.sql_allowlist import check_in_lab
from incidentlab.error_text import message_line
from incidentlab.not_answered import NOT_ANSWERED_COLUMN
from incidentlab.paths import warehouse_path

GRADED_LATER = ("The values are checked when your notebook is graded, on this warehouse and on other versions "
                "of the incident, so compute every value with SQL.")
VALUES_RIGHT = ("your values are right on this warehouse; when graded, your query also runs on other versions of "
                "the incident")


class _Failed(Exception):
    """Internal: the check ends with this message on stderr."""


class _QueryFailed(Exception):
    """Internal: the answer's query fails on the kernel's warehouse."""


class _Refused(Exception):
    """Internal: the answer's query holds something an answer may not (the allow-list's sentence)."""


@dataclass(frozen=True)
class Question:
    module: str
    name: str
    title: str
    columns: tuple[str, ...]
    rows: int
    notebook: str = ""
    stage: str = ""  # the module's stage whose warehouse it is asked on (exercises.load fills in the first)
    ordered: bool = False
    hint: str = ""
    points: float = field(default=1, compare=False)

    def __post_init__(self):
        if not self.stage:
            raise ValueError(f"question {self.name!r} names no stage")
        if not self.name.isidentifier():
            raise ValueError(f"question name {self.name!r} must be a Python identifier")
        if not self.columns:
            raise ValueError(f"question {self.name!r} names no columns")

    @property
    def variable(self) -> str:
        return f"answer_{self.name}"

    def check(self, answer=None) -> None:
        """The student's check: the answer cell ran, holds one query, its result has the right shape and, where the
        course ships the question's fingerprint, the right values on this warehouse."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                frame, sql = self._fresh_result(answer)
                self._fail_on(shape_problems(frame, list(self.columns), self.rows), "not right yet")
                values_checked = self._check_values(frame, sql)
            except _Failed as failed:
                sys.stdout.flush()
                print(failed, file=sys.stderr, flush=True)
                return
        if values_checked:
            print(f"✓ {self.title}: {VALUES_RIGHT}.", flush=True)
        else:
            print(f"✓ {self.title}: the columns and the number of rows are right. {GRADED_LATER}", flush=True)

    # -- the steps ------------------------------------------------------------------------------------
    def _fail(self, message: str) -> _Failed:
        return _Failed(f"✗ {self.title}: {message}")

    def _fail_on(self, problems: list[str], heading: str) -> None:
        if problems:
            lines = [f"✗ {self.title}: {heading}:"] + [f"  - {p}" for p in problems]
            if self.hint:
                lines.append(f"  Hint: {self.hint}")
            raise _Failed("\n".join(lines))

    def _check_values(self, frame: pd.DataFrame, sql: str | None) -> bool:
        """Whether the values were checked (and are right): False where the course ships no fingerprint for this
        question or cannot compare; a failure if they differ."""
        try:
            fingerprint = load_fingerprints(self.module).get(self.name)
        except Exception:  # a check never raises: without its fingerprint the values are judged when graded
            fingerprint = None
        if fingerprint is None:
            return False
        frame = self._on_its_warehouse(sql, frame)
        try:
            problems = fingerprint.problems(frame)
        except Exception:  # a value of a type the canonical form does not know: judged when graded
            return False
        self._fail_on(problems, "the values differ")
        return True

    def _on_its_warehouse(self, sql: str | None, frame: pd.DataFrame) -> pd.DataFrame:
        """The answer's result on the question's own built warehouse, the one the grader and the fingerprint use
        (the kernel's copy may have been changed since: a fix run, a dropped table), of the right shape there too;
        ``frame`` without one."""
        path = warehouse_path(self.module, self.stage)
        if sql is None or not path.exists():
            return frame
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error:  # not readable here (a grader's jail): the kernel's result stands
            return frame
        try:
            frame = con.execute(sql).df()
        except duckdb.Error as exc:
            raise self._fail(f"your query fails on the {self.stage} warehouse, where it is graded: "
                             f"{message_line(str(exc)) or type(exc).__name__}\n  Fix it, run the answer cell, "
                             "then this check.") from None
        finally:
            con.close()
        self._fail_on(shape_problems(frame, list(self.columns), self.rows), "not right yet")
        return frame

    def _fresh_result(self, answer) -> tuple[pd.DataFrame, str | None]:
        """The result of the answer cell's latest run and its query (None: the result was given); a failure if
        that run failed or is not a query."""
        log = answer_log()
        run = log.latest(self.variable)
        last = log.last
        if last is not None and not last.ok and last is not run and (run is None or last.count > run.count) \
                and looks_like_sql(last.source):
            raise self._fail(f"the cell you ran before this check failed: it holds SQL without a `%%sql` first "
                             f"line. If it is the answer cell, its first line must be "
                             f"`{header(self.name)}`: put it back, run the cell, then this check.")
        if run is not None and not run.ok and below_placeholder(run.source.lstrip().partition("\n")[2]):
            raise self._fail(f"{PLACEHOLDER_LEFT}: {PLACEHOLDER_FIX}, then this check.")
        if run is not None and not run.ok:
            raise self._fail(f"the answer cell failed when you last ran it, so there is nothing new to check: "
                             f"{run.error}\n  Fix the query, run the answer cell, then this check.")
        if run is not None and answer is None:
            try:
                sql = query_of(run.source, self.name)
            except BelowPlaceholder as exc:
                raise self._fail(f"{exc}.") from None
            except NotAnswered:
                raise self._fail("not answered yet (0 points). Replace the placeholder query in the answer cell "
                                 "above with yours, run that cell, then run this one again.") from None
            except AnswerSqlError as exc:
                raise self._fail(f"{exc}.") from None
            try:
                frame = _run_in_kernel(sql)
            except _Refused as exc:
                raise self._fail(f"{exc}. Change it, run the answer cell, then this check.") from None
            except _QueryFailed as exc:
                raise self._fail(f"your query fails on your warehouse: {exc}\n  Fix it, run the answer cell, "
                                 "then this check.") from None
            if frame is not None:
                return frame, sql
        if answer is None:
            answer = _user_variable(self.variable)
        if answer is None:
            raise self._fail(f"there is no answer yet: run the answer cell above (it starts with "
                             f"`{header(self.name)}`), then this check.")
        frame = _frame(answer)
        if frame is None:
            raise self._fail(f"`{self.variable}` is a {type(answer).__name__}, not a query result: the answer "
                             f"cell must start with `{header(self.name)}`; run it again, then this check.")
        if [str(c).lower() for c in frame.columns] == [NOT_ANSWERED_COLUMN]:
            raise self._fail("not answered yet (0 points). Replace the placeholder query in the answer cell "
                             "above with yours, run that cell, then run this one again.")
        return frame, None


def _run_in_kernel(sql: str) -> pd.DataFrame | None:
    """The query's result on this kernel's warehouse, read as the grader reads it (the whole cell's query, not
    the last statement jupysql keeps); None outside a lab."""
    from incidentlab.notebook import current_lab

    lab = current_lab()
    if lab is None:
        return None
    try:
        check_in_lab(sql, lab.con)
    except AnswerSqlError as exc:
        raise _Refused(str(exc)) from None
    try:
        return lab.query(sql)
    except Exception as exc:  # duckdb's errors; the first line says what is wrong
        raise _QueryFailed(message_line(str(exc)) or type(exc).__name__) from None


def _user_variable(name: str):
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    ip = get_ipython()
    return None if ip is None else ip.user_ns.get(name)


def _frame(answer) -> pd.DataFrame | None:
    if isinstance(answer, pd.DataFrame):
        return answer
    to_frame = getattr(answer, "DataFrame", None)  # jupysql's ResultSet
    if callable(to_frame):
        return to_frame()
    return None
