"""Feedback: nbgrader's generate_feedback, showing which checks failed but not the reference answer.

Hidden test regions are removed from the feedback (nbgrader keeps them in the autograded notebook), and the
errors of graded cells are cut to their message, since a traceback quotes the checking code around the failure.
Every page is then searched for the master's solution and hidden-test lines the student did not write.
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets.config import Config

from incidentlab.errors import IncidentLabError
from incidentlab.grading.course import Course

_REGIONS = [("BEGIN SOLUTION", "END SOLUTION"), ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")]


class HideTracebacks(NbGraderPreprocessor):
    """Keep only ``Name: message`` of the errors in graded (test) cells."""

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


def _config(course: Course) -> Config:
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    cfg = Config(copy.deepcopy(course.config))
    cfg.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, HideTracebacks, CSSHTMLHeaderPreprocessor]
    cfg.ClearHiddenTests.enforce_metadata = False
    return cfg


def secret_lines(master: nbformat.NotebookNode) -> set[str]:
    """Lines of the master's solution and hidden-test regions (long enough to mean something)."""
    found = set()
    for cell in master.cells:
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if any(text.endswith(begin) for begin, _ in _REGIONS):
                inside = True
            elif any(text.endswith(end) for _, end in _REGIONS):
                inside = False
            elif inside and len(text) >= 12:
                found.add(text)
    return found


def page_text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def leaks(course: Course, student: str) -> list[str]:
    """Master lines that appear in the student's feedback although the student did not write them."""
    found = []
    for page in sorted(course.feedback(student).glob("*.html")):
        master_path = course.source / f"{page.stem}.ipynb"
        submitted = course.submitted(student) / f"{page.stem}.ipynb"
        if not master_path.exists():
            continue
        own = submitted.read_text(encoding="utf-8", errors="replace") if submitted.exists() else ""
        text = page_text(page)
        found += [f"{page.name}: {line}" for line in sorted(secret_lines(nbformat.read(master_path, as_version=4)))
                  if line in text and line not in own and _json_escaped(line) not in own]
    return found


def _json_escaped(line: str) -> str:
    import json

    return json.dumps(line)[1:-1]


def feedback(course: Course, students: list[str] | None = None, progress: bool = True) -> dict[str, list[str]]:
    """Feedback pages for every autograded student; returns student -> leaks found (empty when clean)."""
    from nbgrader.apps.api import NbGraderAPI
    from tqdm import tqdm

    students = students or sorted(p.parent.name for p in Path(course.autograded("x")).parent.parent.glob(
        f"*/{course.assignment}") if p.is_dir())
    if not students:
        raise IncidentLabError("nothing is autograded yet; run `incidentlab grade autograde` first")
    api = NbGraderAPI(coursedir=course.coursedir(), config=_config(course))
    problems: dict[str, list[str]] = {}
    for student in tqdm(students, desc="feedback", unit="student", disable=not progress):
        outcome = api.generate_feedback(course.assignment, student, force=True)
        if not outcome["success"]:
            detail = (outcome.get("error") or outcome.get("log") or "").strip().splitlines()
            problems[student] = [f"nbgrader generate_feedback failed: {detail[-1] if detail else 'no detail'}"]
            continue
        problems[student] = leaks(course, student)
    return problems
