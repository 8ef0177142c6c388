"""A one-notebook course on the WT-06 warehouse, small enough to grade many times in the tests.

Its two questions are wt06_data_stale's, so the module's answer key judges them (``autograde(…, module=MODULE)``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from traitlets.config import Config

from incidentlab.grading.course import Course

ASSIGNMENT = "tiny"
MODULE = "wt06_data_stale"
# Right answers, written as a student would (the answer key's own queries are other texts).
ANSWERS = {
    "hours_stale": "select 'fct_revenue_daily' as model, max(updated_at) as last_refreshed_at,\n"
                   "       round(epoch(scenario_now() - max(updated_at)) / 3600, 1) as hours_stale\n"
                   "from fct_revenue_daily\nunion all\n"
                   "select 'fct_daily_signups', max(updated_at), "
                   "round(epoch(scenario_now() - max(updated_at)) / 3600, 1)\n"
                   "from fct_daily_signups",
    "phantom_count": "select count(*) as green_runs, count(*) filter (where not includes_marts) as phantom_runs\n"
                     "from stg_pipeline_runs where status = 'success' and exit_code = 0",
}
POINTS = {"hours_stale": 2, "phantom_count": 1}


def notebook_cell(kind: str, source: str, **nbgrader) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False, "grade": False,
                                     **nbgrader}
    return cell


def master() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        notebook_cell("markdown", "# Tiny\nHow stale are the marts, and how many runs were phantom successes?",
              grade_id="intro", locked=True),
        notebook_cell("code", f'from incidentlab.notebook import start\nlab = start("{MODULE}")\n'
                      f'from incidentlab.exercises import load\nex = load("{MODULE}")',
              grade_id="setup", locked=True),
    ]
    for question, sql in ANSWERS.items():
        nb.cells += [
            notebook_cell("code", f"%%sql answer_{question} <<\n-- ### BEGIN SOLUTION\n{sql}\n-- ### END SOLUTION",
                  grade_id=f"t_{question}_answer", solution=True),
            notebook_cell("code", f"ex.{question}.check()\n### BEGIN HIDDEN TESTS\n"
                          "from incidentlab.grading.grade_answers import hidden_check\n"
                          f"hidden_check(ex.{question})\n### END HIDDEN TESTS",
                  grade_id=f"t_{question}_test", grade=True, locked=True, points=POINTS[question]),
        ]
    return nb


def make_course(root: Path) -> Course:
    """A course folder under ``root`` with the tiny master in source/ (not released yet)."""
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "tiny_course"
    from incidentlab.nbgrader_stub import generate_assignment_preprocessors

    config.GenerateAssignment.preprocessors = generate_assignment_preprocessors()
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    nbformat.write(master(), source / f"{ASSIGNMENT}.ipynb")
    return Course(config, ASSIGNMENT)
