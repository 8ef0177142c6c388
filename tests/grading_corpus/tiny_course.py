"""A one-notebook course on the WT-06 warehouse, small enough to grade many times in the tests."""

from __future__ import annotations

from pathlib import Path

import nbformat
from traitlets.config import Config

from incidentlab.grading.course import Course

ASSIGNMENT = "tiny"
ANSWER_SQL = "select max(order_date) as last_day from fct_revenue_daily"
HOURS_CODE = ('hours = (lab.now - lab.query("select max(updated_at) as t from fct_revenue_daily").t[0])'
              '.total_seconds() / 3600')


def _cell(kind: str, source: str, **nbgrader) -> nbformat.NotebookNode:
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
        _cell("markdown", "# Tiny\nWhen did the dashboard stop?", grade_id="intro", locked=True),
        _cell("code", 'from incidentlab.notebook import start\nlab = start("wt06_data_stale")'),
        _cell("code", f"%%sql latest <<\n{ANSWER_SQL}", grade_id="answer_last_day", solution=True),
        _cell("code", 'assert "latest" in dir(), "run your query first"\n'
                      "### BEGIN HIDDEN TESTS\n"
                      'assert str(latest.DataFrame().iloc[0, 0])[:10] == "2024-02-08", "not the last day shown"\n'
                      "### END HIDDEN TESTS",
              grade_id="check_last_day", grade=True, locked=True, points=2),
        _cell("code", f"### BEGIN SOLUTION\n{HOURS_CODE}\n### END SOLUTION", grade_id="answer_hours",
              solution=True),
        _cell("code", 'assert round(hours, 1) == 86.8, "hours since the marts were refreshed: not quite"',
              grade_id="check_hours", grade=True, locked=True, points=1),
    ]
    return nb


def make_course(root: Path) -> Course:
    """A course folder under ``root`` with the tiny master in source/ (not released yet)."""
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "tiny_course"
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    nbformat.write(master(), source / f"{ASSIGNMENT}.ipynb")
    return Course(config, ASSIGNMENT)
