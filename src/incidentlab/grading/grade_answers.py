"""Scores through nbgrader without running the student's notebook: each test cell's output is the judge's verdict.

``GradeAnswers`` takes the place of nbgrader's ``Execute`` in autograde. For every graded test cell
(``<prefix>_<question>_test``) it reads the SQL of the answer cell beside it (``<prefix>_<question>_answer``)
from the submitted notebook, asks the judge, and writes the verdict as the cell's output: stdout when right,
stderr when not, which nbgrader's ``SaveAutoGrades`` scores as full points or 0. The gradebook, formgrader,
manual grading and feedback then work as they always do.

``hidden_check`` is the same verdict inside a kernel, for the masters' hidden test regions: ``nbgrader
validate`` and stock ``nbgrader autograde`` run it, and give the same scores as the pipeline.
"""

from __future__ import annotations

import sys

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Unicode

from incidentlab.errors import IncidentLabError
from incidentlab.grading.answer_key import Judge, Verdict, judge_for
from incidentlab.grading.repair import grade_id


def question_of(test_id: str, questions) -> str | None:
    """The question a test cell checks, from its grade_id ``<prefix>_<question>_test``."""
    if not test_id.endswith("_test"):
        return None
    base = test_id[: -len("_test")]
    found = [name for name in questions if base == name or base.endswith(f"_{name}")]
    return max(found, key=len) if found else None


def answer_id(test_id: str) -> str:
    return test_id[: -len("_test")] + "_answer"


def _output(verdict: Verdict) -> NotebookNode:
    return NotebookNode(output_type="stream", name="stdout" if verdict.passed else "stderr",
                        text=verdict.message + "\n")


def _is_test(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade", False) and not meta.get("solution", False)


def grade_notebook(nb, judge: Judge) -> list[Verdict]:
    """Write each test cell's verdict as its only output; return the verdicts."""
    answers = {grade_id(cell): cell.source for cell in nb.cells if grade_id(cell)}
    verdicts = []
    for cell in nb.cells:
        if not _is_test(cell):
            continue
        test_id = grade_id(cell) or ""  # a test cell has one
        question = question_of(test_id, judge.questions)
        if question is None:
            verdict = Verdict(test_id, False, f"✗ {test_id}: this graded cell checks no question of the answer "
                                              f"key of {judge.module}; the course has a bug (0 points).")
        else:
            verdict = judge.verdict(question, answers.get(answer_id(test_id), ""))
        cell.outputs = [_output(verdict)]
        verdicts.append(verdict)
    return verdicts


class GradeAnswers(NbGraderPreprocessor):
    """nbgrader preprocessor: verdicts from the answer key in place of executing the notebook."""

    module = Unicode("", help="the module whose answer key judges the notebook (default: the assignment)"
                     ).tag(config=True)
    query_timeout = Float(10.0, help="seconds one query may run").tag(config=True)

    def preprocess(self, nb, resources):
        module = self.module or resources.get("nbgrader", {}).get("assignment", "")
        try:
            judge = judge_for(module)
            judge.query_timeout = self.query_timeout
            grade_notebook(nb, judge)
        except IncidentLabError as exc:  # the key or a warehouse is broken: the course's fault, not the student's
            COURSE_ERRORS.append(str(exc))
            raise
        return nb, resources


# What went wrong on the course's side while grading (nbgrader wraps the exceptions its converters raise).
COURSE_ERRORS: list[str] = []


def hidden_check(question) -> None:
    """A master's hidden test: the grader's verdict on the answer cell as this kernel last ran it."""
    from incidentlab.checking.answer_log import answer_log

    run = answer_log().latest(question.variable)
    source = run.source if run is not None else ""  # judged as the pipeline judges it: the cell's text
    verdict = judge_for(question.module).verdict(question.name, source)
    stream = sys.stdout if verdict.passed else sys.stderr
    sys.stdout.flush()
    print(verdict.message, file=stream, flush=True)
