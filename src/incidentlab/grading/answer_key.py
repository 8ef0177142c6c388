"""The answer key and the judge: a student's answer cell in, a verdict out.

The key is the reference query of every question, in ``grading/<module>/answer_key/<question>.sql``: on the
instructor's side of the project, never in the package a student installs. The judge reads the query out of
the answer cell's text (nothing the student wrote runs in Python), checks it against the allow-list of SQL
(``incidentlab.checking.sql_allowlist``), then runs it in a query process of its own
(``incidentlab.grading.warehouses``) on read-only copies of the question's warehouse and of every variant of it,
and compares each result with the key's there. Variants are built so that each kind of wrong answer gives
different values on at least one of them. A verdict never quotes the database about a variant, nor shows one of
its values; an answer whose parse tree holds the key's goes to the instructor (``key_match``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from incidentlab.checking.answer_sql import AnswerSqlError, NotAnswered, normalized, query_of
from incidentlab.checking.compare import compare
from incidentlab.checking.question import Question
from incidentlab.checking.sql_allowlist import Catalog, Refused, check_allowed
from incidentlab.errors import IncidentLabError
from incidentlab.exercises import load
from incidentlab.grading.key_match import holds_key
from incidentlab.grading.warehouses import Budget, LockedWarehouse, QueryBreach, QueryError, QueryProcess, QueryTimeout
from incidentlab.paths import project_root, warehouse_path

QUERY_TIMEOUT = 10.0
REVIEW = "is the course's answer key word for word"
ROW_FACTOR, ROW_SLACK = 10, 10_000


class AnswerKeyError(IncidentLabError):
    """The key is missing or broken: the course has a bug, not the student."""


def key_folder(module: str) -> Path:
    return project_root() / "grading" / module / "answer_key"


def read_key(module: str) -> dict[str, str]:
    """question -> reference SQL."""
    folder = key_folder(module)
    if not folder.is_dir():
        raise AnswerKeyError(f"no answer key for {module} ({folder} is missing); the key is on the "
                             "instructor's side of the course, in its repository")
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.sql"))}


@dataclass(frozen=True)
class Verdict:
    question: str
    passed: bool
    message: str  # what the student reads, one line or a few
    review: bool = False  # an instructor should look at it (the key, copied)


def versions(module: str, stage: str) -> list[tuple[str | None, str, Path]]:
    """(variant, what it changes, warehouse path) for the stage's warehouse and each of its variants."""
    from incidentlab.datasets import variant_description, variant_names

    out: list[tuple[str | None, str, Path]] = [(None, "", warehouse_path(module, stage))]
    out += [(name, variant_description(module, name), warehouse_path(module, stage, name))
            for name in variant_names(module)]
    return out


class Judge:
    """Verdicts for one module's questions; warehouses and reference results are opened once and kept."""

    def __init__(self, module: str, query_timeout: float = QUERY_TIMEOUT):
        self.module = module
        self.query_timeout = query_timeout
        self.questions: dict[str, Question] = {q.name: q for q in load(module)}
        self.keys = read_key(module)
        missing = sorted(set(self.questions) - set(self.keys))
        if missing:
            raise AnswerKeyError(f"the answer key of {module} has no query for: {', '.join(missing)}")
        self.process = QueryProcess()  # this judge's queries run there, never in this process
        self._warehouses: dict[Path, LockedWarehouse] = {}
        self._catalogs: dict[Path, Catalog] = {}
        self._expected: dict[tuple[str, str | None], pd.DataFrame] = {}
        self._verdicts: dict[tuple[str, str], Verdict] = {}
        self._stages: dict[str, list] = {}
        self.budget = Budget(float("inf"))

    # -- the verdict ----------------------------------------------------------------------------------
    def verdict(self, question: str, cell_source: str) -> Verdict:
        q = self.questions[question]
        # The same query on the same warehouses gets the same verdict: a class's identical answers run once.
        key = (question, normalized(cell_source))
        if key in self._verdicts:
            return self._verdicts[key]
        try:
            verdict = self._judge(q, cell_source)
        except _Rejected as rejected:
            verdict = Verdict(question, False, f"✗ {q.title}: {rejected}", review=rejected.review)
            if not rejected.final:
                return verdict
        self._verdicts[key] = verdict
        return verdict

    def _judge(self, q: Question, cell_source: str) -> Verdict:
        try:
            sql = query_of(cell_source, q.name)
        except NotAnswered:
            raise _Rejected("not answered yet (0 points).") from None
        except AnswerSqlError as exc:
            raise _Rejected(f"{exc}.") from None
        (_, _, home), *variants = self._versions(q.stage)
        try:
            tables = check_allowed(sql, self._catalog(home))
        except Refused as exc:
            raise _Rejected(f"{exc}.") from None
        if holds_key(sql, self.keys[q.name]):
            raise _Rejected(f"this query {REVIEW}: it is not scored automatically, your instructor will look "
                            "at it.", review=True)
        if not tables:
            raise _Rejected("the query reads no table of the warehouse: compute the values from the tables "
                            "(a list of typed-in values is not an answer).")
        expected_home = self._reference(q, None, home)
        actual = self._run(q, None, home, sql, f"on the {q.stage} warehouse")
        problems = compare(actual, expected_home, q.ordered)
        if problems:
            raise _Rejected("\n".join([f"the values on the {q.stage} warehouse are not the expected ones:"]
                                      + [f"  - {p}" for p in problems]))
        for name, description, path in variants:
            where = f"on another version of the incident, in which {description}"
            actual = self._run(q, name, path, sql, where)
            problems = compare(actual, self._reference(q, name, path), q.ordered)
            if problems:
                cause = (_TYPED if typed_constants(sql, expected_home, self.keys[q.name]) else
                         "It depends on something this warehouse and that version do not share: read the "
                         "exercise's definitions again and compute each of them from the tables.")
                raise _Rejected("\n".join([f"right on this warehouse, but the values differ {where}:"]
                                          + [f"  - {p}" for p in problems] + [f"  {cause}"]))
        others = len(variants)
        return Verdict(q.name, True, f"✓ {q.title}: right, on this warehouse and on {others} other "
                                     f"version{'s' if others != 1 else ''} of the incident.")

    # -- running queries ------------------------------------------------------------------------------
    def new_submission(self, budget_seconds: float) -> None:
        """The next answers are another student's: a fresh time budget, and fresh connections."""
        self.budget = Budget(budget_seconds)
        self.process.fresh()

    def close(self) -> None:
        self.process.close()

    def _versions(self, stage: str) -> list[tuple[str | None, str, Path]]:
        if stage not in self._stages:  # the manifest is read once per stage, not once per answer
            self._stages[stage] = versions(self.module, stage)
        return self._stages[stage]

    def _warehouse(self, path: Path) -> LockedWarehouse:
        if path not in self._warehouses:
            self._warehouses[path] = LockedWarehouse(path, self.process)
        return self._warehouses[path]

    def _catalog(self, path: Path) -> Catalog:
        if path not in self._catalogs:
            self._catalogs[path] = self._warehouse(path).catalog()
        return self._catalogs[path]

    def _reference(self, q: Question, variant: str | None, path: Path) -> pd.DataFrame:
        key = (q.name, variant)
        if key not in self._expected:
            try:  # the key runs on a connection of its own, never one a student's query has used
                self._expected[key] = self._warehouse(path).run(self.keys[q.name], time_limit=120, trusted=True)
            except QueryError as exc:
                raise AnswerKeyError(f"the answer key's query for {self.module}.{q.name} fails on {path}: {exc}. "
                                     "The course has a bug: fix the key or rebuild the warehouses.") from None
        return self._expected[key]

    def _max_rows(self, q: Question, variant: str | None, path: Path) -> int:
        """Ten times the key's rows there, and some: a wrong join may add rows, not without end."""
        return len(self._reference(q, variant, path)) * ROW_FACTOR + ROW_SLACK

    def _run(self, q: Question, variant: str | None, path: Path, sql: str, where: str) -> pd.DataFrame:
        limit = min(self.query_timeout, self.budget.remaining())
        if limit <= 0:
            raise _Rejected("not checked: this submission's queries used up their time for grading "
                            f"({self.budget.seconds:g} s in all).", final=False)
        max_rows = self._max_rows(q, variant, path)
        try:
            return self.budget.timed(self._warehouse(path).run, sql, limit, max_rows)
        except QueryTimeout as exc:
            raise _Rejected(f"{where} your query {exc}. A join without a complete `on` condition can multiply "
                            "rows without end; check your joins.", final=False) from None
        except QueryBreach as exc:
            raise _Rejected(f"{where} your query {_BREACHES[exc.what]} (0 points).") from None
        except QueryError as exc:  # never the database's text from a version the student does not have
            if variant is not None:
                raise _Rejected(f"your query works on this warehouse but fails {where}, with {exc.kind_words}: "
                                "check what it assumes about the values (a cast, a division, a date).") from None
            if exc.at_bind:
                raise _Rejected(f"your query fails {where}: {exc}") from None
            raise _Rejected(f"your query fails {where} with {exc.kind_words}: run it in your notebook to see "
                            "the database's message.") from None


_BREACHES = {
    "rows": "returns far more rows than the answer has: check your joins and filters",
    "columns": "returns far more columns than an answer has",
    "value": "returns a value larger than grading allows",
    "size": "returns a result larger than grading allows",
    "memory": "needs more memory than grading allows: check your joins",
}


class _Rejected(Exception):
    def __init__(self, message: str, review: bool = False, final: bool = True):
        super().__init__(message)
        self.review = review
        self.final = final  # the same query always gets this verdict (not so for a time limit)


_TYPED = ("It looks like it contains typed-in constants (dates, counts, ids or amounts copied from a result): "
          "compute each value from the tables.")
_HARMLESS_NUMBERS = {0.0, 0.5, 1.0, 2.0, 7.0, 24.0, 25.0, 60.0, 100.0, 3600.0}


def _literals(sql: str) -> tuple[list[str], set[float]]:
    strings = re.findall(r"'((?:[^']|'')*)'", sql)
    bare = re.sub(r"'(?:[^']|'')*'", " ", sql)
    bare = "\n".join(line.split("--", 1)[0] for line in bare.splitlines())
    return strings, {float(n) for n in re.findall(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])", bare)}


def typed_constants(sql: str, result: pd.DataFrame, key: str = "") -> bool:
    """Whether the query holds a literal that is likely a value copied from a result: a date or timestamp, or
    a number or a name with digits that the right result on this warehouse contains. Literals the answer key
    uses itself (a check's name, a threshold the exercise sets) do not count."""
    key_strings, key_numbers = _literals(key)
    strings, numbers = _literals(sql)
    strings = [text for text in strings if text not in key_strings]
    numbers = numbers - _HARMLESS_NUMBERS - key_numbers
    cells = [value for column in result.columns for value in result[column].tolist()]
    texts = {str(v) for v in cells if isinstance(v, str)}
    values = set()
    for v in cells:
        with contextlib.suppress(TypeError, ValueError):
            values.add(round(float(v), 6))
    for text in strings:
        if _is_moment(text) or (text in texts and any(ch.isdigit() for ch in text)):
            return True
    return any(round(n, 6) in values for n in numbers)


def _is_moment(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


_judges: dict[str, Judge] = {}


def judge_for(module: str) -> Judge:
    """This process's judge for ``module`` (its warehouses and reference results are kept)."""
    if module not in _judges:
        _judges[module] = Judge(module)
    return _judges[module]
