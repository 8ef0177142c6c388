"""A graded question: the reference query and the visible and hidden tests a notebook's test cell calls.

Checks never raise on a wrong or missing answer: they write what is wrong to stderr, which nbgrader scores
as 0 points, and return. Success is one line on stdout. No message shows a value of the reference result.
"""

from __future__ import annotations

import functools
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from incidentlab.checking.answers import AnswerError, is_not_answered, sql_of
from incidentlab.checking.compare import compare, shape_problems
from incidentlab.checking.warehouses import QueryError, QueryTimeout, private_copy, run_query
from incidentlab.errors import IncidentLabError

STAGES = ("stale", "fixed")
_VARIANT = "another version of the incident (other dates, amounts and counts)"


class ReferenceQueryError(IncidentLabError):
    """A question's own reference query fails: the course has a bug."""


@functools.lru_cache(maxsize=256)
def _reference_result(reference: str, path: Path) -> pd.DataFrame:
    return run_query(path, reference)


class _Failed(Exception):
    """Internal: a check ends with this message on stderr."""


def _reported(check):
    """Run a check with library warnings silenced; its failure becomes a message on stderr, never a traceback."""

    @functools.wraps(check)
    def run(self, answer) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                check(self, answer)
            except _Failed as failed:
                sys.stdout.flush()
                print(failed, file=sys.stderr, flush=True)

    return run


@dataclass(frozen=True)
class Question:
    module: str
    name: str
    title: str
    reference: str
    stage: str = "stale"
    ordered: bool = False
    hint: str = ""

    def __post_init__(self):
        if self.stage not in STAGES:
            raise ValueError(f"question {self.name!r}: stage must be one of {STAGES}, not {self.stage!r}")
        if not self.name.isidentifier():
            raise ValueError(f"question name {self.name!r} must be a Python identifier")
        if not self.reference.strip():
            raise ValueError(f"question {self.name!r} has an empty reference query")

    def __repr__(self) -> str:  # never show the reference
        return f"Question({self.module}.{self.name}: {self.title!r})"

    # -- what the test cells call ---------------------------------------------------------------------
    @_reported
    def check(self, answer) -> None:
        """The visible test: the answer's column names and number of rows."""
        problems = shape_problems(self._answer_result(answer), self.expected())
        if problems:
            raise _Failed(self._failure("not right yet:", problems, hint=True))
        _say(f"✓ {self.title}: the columns and the number of rows are right. "
             "(The values are checked when the notebook is graded.)")

    @_reported
    def check_hidden(self, answer) -> None:
        """The hidden test: the values, here and on the variant warehouse (no constants typed in)."""
        problems = compare(self._answer_result(answer), self.expected(), self.ordered)
        if problems:
            raise _Failed(self._failure(
                f"hidden check 1 of 2 failed: the values on the {self.stage} warehouse are not the expected "
                "ones:", problems))
        self._check_variant(sql_of(answer))
        _say(f"✓ {self.title}: the values are right, also on {_VARIANT}.")

    # -- for tests and notebooks ------------------------------------------------------------------------
    def expected(self, variant: bool = False) -> pd.DataFrame:
        """The reference result on the pristine warehouse of the question's stage (or its variant)."""
        path = private_copy(self.module, self.stage, variant)
        try:
            return _reference_result(self.reference, path)
        except QueryError as exc:
            raise ReferenceQueryError(
                f"the reference query of question {self.module}.{self.name} fails on the "
                f"{self.stage}{'-variant' if variant else ''} warehouse: {exc}. The course has a bug: "
                "please report it."
            ) from None

    # -- the steps ------------------------------------------------------------------------------------
    def _answer_result(self, answer) -> pd.DataFrame:
        """The answer's result on the pristine warehouse of the question's stage."""
        try:
            sql = sql_of(answer)
        except AnswerError as exc:
            raise _Failed(f"✗ {self.title}: {exc}.") from None
        frame = answer if sql is None else None
        if is_not_answered(sql, frame):
            raise _Failed(f"✗ {self.title}: not answered yet (0 points). Replace the placeholder query in the "
                          "answer cell above with yours, run that cell, then run this one again.")
        if frame is not None:
            return frame
        try:
            return run_query(private_copy(self.module, self.stage), sql)
        except QueryTimeout as exc:
            raise _Failed(f"✗ {self.title}: your query could not be checked: {exc}. A join without a "
                          "complete `on` condition can multiply rows without end; check your joins.") from None
        except QueryError as exc:
            raise _Failed(
                f"✗ {self.title}: your query fails on the {self.stage} warehouse: {exc}\n"
                "  The answer must be one query that reads the warehouse's tables (tables you created in this "
                "notebook, or changes you made to it, are not there)."
            ) from None

    def _check_variant(self, sql: str | None) -> None:
        if sql is None:
            raise _Failed(f"✗ {self.title}: hidden check 2 of 2 needs your SQL: answer in a cell that starts "
                          "with `%%sql answer_<name> <<` rather than with a DataFrame.")
        try:
            actual = run_query(private_copy(self.module, self.stage, variant=True), sql)
        except QueryTimeout as exc:
            raise _Failed(f"✗ {self.title}: hidden check 2 of 2 failed: on {_VARIANT} your query {exc}.") \
                from None
        except QueryError as exc:
            raise _Failed(
                f"✗ {self.title}: hidden check 2 of 2 failed: your query fails on {_VARIANT}: {exc}\n"
                "  It works on this warehouse, so it may depend on something only this version holds."
            ) from None
        problems = compare(actual, self.expected(variant=True), self.ordered)
        if problems:
            raise _Failed(self._failure(
                f"hidden check 2 of 2 failed: your query gives different values on {_VARIANT}. It may contain "
                "typed-in constants (dates, counts, amounts, ids) instead of computing them from the tables:",
                problems))

    def _failure(self, headline: str, problems: list[str], hint: bool = False) -> str:
        lines = [f"✗ {self.title}: {headline}"] + [f"  - {problem}" for problem in problems]
        if hint and self.hint:
            lines.append(f"  Hint: {self.hint}")
        return "\n".join(lines)


def _say(message: str) -> None:
    print(message, file=sys.stdout, flush=True)
