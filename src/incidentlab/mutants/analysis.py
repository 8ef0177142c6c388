"""Run every mutant of a module's keys on the question's warehouses; which ones does the data kill?

A mutant is killed when its result differs from the key's, by the judge's comparison
(``incidentlab.checking.compare``), on the question's own warehouse or on any variant of it; one that does not run
is not counted. Mutants run in worker processes, each with its own read-only connections and its own cache of the
key's results, opened and computed once per process.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from incidentlab.checking.compare import compare
from incidentlab.checking.question import Question
from incidentlab.errors import IncidentLabError
from incidentlab.exercises import load
from incidentlab.mutants.generate import Mutant, mutants_of, parse
from incidentlab.mutants.operators import KeyContext
from incidentlab.mutants.warehouses import MutantFailed, Warehouse, versions
from incidentlab.paths import project_root

KILLED, SURVIVED, FAILED = "killed", "survived", "failed"


def key_file(module: str, question: str) -> Path:
    return project_root() / "grading" / module / "answer_key" / f"{question}.sql"


@dataclass
class QuestionAnalysis:
    """The mutants of one question's key and what became of each."""

    question: str
    key_sql: str
    mutants: list[Mutant]
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (status, where killed / why failed)

    def with_status(self, status: str) -> list[Mutant]:
        return [m for m in self.mutants if self.outcomes.get(m.id, (FAILED, ""))[0] == status]

    @property
    def counted(self) -> int:
        """The mutants that ran (those that failed to run are not counted)."""
        return len(self.mutants) - len(self.with_status(FAILED))

    @property
    def killed(self) -> int:
        return len(self.with_status(KILLED))

    @property
    def survivors(self) -> list[Mutant]:
        return self.with_status(SURVIVED)


@dataclass
class ModuleAnalysis:
    module: str
    questions: list[QuestionAnalysis]
    seconds: float


def _questions(module: str, only: str | None) -> list[Question]:
    questions = list(load(module))
    if only is None:
        return questions
    chosen = [q for q in questions if q.name == only]
    if not chosen:
        raise IncidentLabError(f"{module} has no question named {only!r}; known: "
                               f"{', '.join(q.name for q in questions)}")
    return chosen


def generate(module: str, questions: list[Question]) -> list[QuestionAnalysis]:
    """Each question's key and its mutants (a key's scalar subqueries are evaluated on its own warehouse)."""
    out = []
    homes: dict[Path, Warehouse] = {}
    for q in questions:
        path = key_file(module, q.name)
        if not path.is_file():
            raise IncidentLabError(f"question {q.name} of {module} has no answer key ({path} is missing)")
        sql = path.read_text(encoding="utf-8")
        home = versions(module, q.stage)[0][1]
        warehouse = homes.setdefault(home, Warehouse(home))
        where = str(path.relative_to(project_root()))
        ctx = KeyContext(ordered=q.ordered, columns=warehouse.columns_read(parse(sql, where)),
                         rows_of=warehouse.rows)
        out.append(QuestionAnalysis(q.name, sql, mutants_of(q.name, sql, ctx, where)))
    for warehouse in homes.values():
        warehouse.con.close()
    return out


# -- in each worker process -----------------------------------------------------------------------------------
_warehouses: dict[str, Warehouse] = {}
_expected: dict[tuple[str, str], object] = {}


def _warehouse(path: str) -> Warehouse:
    if path not in _warehouses:
        _warehouses[path] = Warehouse(Path(path))
    return _warehouses[path]


def _judge(task: tuple) -> tuple[str, str, str, str]:
    """(question, mutant id, status, detail) for one mutant run on the question's warehouses in order."""
    question, ordered, key_sql, places, mutant_id, sql = task
    for label, path in places:
        if (question, path) not in _expected:
            try:
                _expected[(question, path)] = _warehouse(path).run(key_sql, time_limit=120)
            except MutantFailed as exc:
                raise IncidentLabError(f"the answer key of {question} fails on {label}: {exc}; fix the key or "
                                       "rebuild the warehouses (make warehouses)") from None
        try:
            result = _warehouse(path).run(sql)
        except MutantFailed as exc:
            return question, mutant_id, FAILED, f"on {label}: {exc}"
        if compare(result, _expected[(question, path)], ordered):
            return question, mutant_id, KILLED, label
    return question, mutant_id, SURVIVED, ""


def analyse(module: str, question: str | None = None, workers: int | None = None,
            progress: bool = False) -> ModuleAnalysis:
    """Generate and run the mutants of ``module``'s keys (one question's, if named)."""
    from tqdm import tqdm

    started = time.monotonic()
    questions = _questions(module, question)
    analyses = generate(module, questions)
    by_name = {a.question: a for a in analyses}
    tasks = []
    for q, a in zip(questions, analyses, strict=True):
        places = [(label, str(path)) for label, path in versions(module, q.stage)]
        missing = [str(path) for _, path in places if not Path(path).exists()]
        if missing:
            raise IncidentLabError(f"the warehouse {missing[0]} is not built; run `make warehouses` first")
        tasks += [(q.name, q.ordered, a.key_sql, places, m.id, m.sql) for m in a.mutants]
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks) // 50 + 1))
    bar = tqdm(total=len(tasks), desc=f"mutants {module}", unit="mutant", disable=not progress, leave=False)
    try:
        if workers == 1:
            try:
                _collect(map(_judge, tasks), by_name, bar)
            finally:  # no connection outlives the analysis in the caller's process
                for warehouse in _warehouses.values():
                    warehouse.con.close()
                _warehouses.clear()
                _expected.clear()
        else:
            with multiprocessing.get_context("spawn").Pool(workers) as pool:
                _collect(pool.imap_unordered(_judge, tasks, chunksize=8), by_name, bar)
    finally:
        bar.close()
    return ModuleAnalysis(module, analyses, time.monotonic() - started)


def _collect(results, by_name: dict[str, QuestionAnalysis], bar) -> None:
    for question, mutant_id, status, detail in results:
        by_name[question].outcomes[mutant_id] = (status, detail)
        bar.update()
