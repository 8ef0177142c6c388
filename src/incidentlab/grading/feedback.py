"""Feedback: nbgrader's generate_feedback, showing which checks failed but not the reference answer.

Hidden test regions are removed from the feedback (nbgrader keeps them in the autograded notebook), and the
errors of graded cells are cut to their message, since a traceback quotes the checking code around the failure.
Every page is then searched for the master's solution and hidden-test lines the student did not write. What the
student wrote or printed is made inert first (``incidentlab.grading.sanitize``): no script runs in a page.
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
    from incidentlab.grading.sanitize import SanitizeCells

    cfg.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, HideTracebacks, SanitizeCells,
                                          CSSHTMLHeaderPreprocessor]
    cfg.HTMLExporter.sanitize_html = True  # nbconvert's own cleaning of what is left, on top of SanitizeCells
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
            elif inside and _telling(text):
                found.add(text)
    return found


def _telling(line: str) -> bool:
    """A line that gives something away: a few words of code, not a lone column name or keyword."""
    return len(line.split()) >= 3 and len(line.strip()) >= 12


def page_text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def _key_and_hints(module: str) -> tuple[list[str], list[str]]:
    """The module's answer key queries and its questions' hints (none when it has no key)."""
    from incidentlab.exercises import load, modules
    from incidentlab.grading.answer_key import AnswerKeyError, read_key

    try:
        key = list(read_key(module).values())
    except AnswerKeyError:
        key = []
    hints = [q.hint for q in load(module)] if module in modules() else []
    return key, hints


def leaks(course: Course, student: str, module: str | None = None) -> list[str]:
    """Reference lines in the student's feedback that the student could not see otherwise.

    Secret: the master's solution and hidden-test lines, and the answer key's queries. Public: the release,
    the questions' hints (a failing check prints them in the student's own notebook) and the student's own text.
    """
    key, hints = _key_and_hints(module or course.assignment)
    references = {line.strip() for sql in key for line in sql.splitlines() if _telling(line)}
    found = []
    for page in sorted(course.feedback(student).glob("*.html")):
        master_path, released = course.source / f"{page.stem}.ipynb", course.release / f"{page.stem}.ipynb"
        submitted = course.submitted(student) / f"{page.stem}.ipynb"
        secrets = set(references)
        if master_path.exists():
            secrets |= secret_lines(nbformat.read(master_path, as_version=4))
        public = hints + [_notebook_text(path) for path in (released, submitted) if path.exists()]
        text = page_text(page)
        found += [f"{page.name}: {line}" for line in sorted(secrets)
                  if line in text and not any(line in known for known in public)]
    return found


def _notebook_text(path: Path) -> str:
    """A notebook's cell sources as the student sees them (the file itself escapes quotes and newlines)."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # an unreadable submission has no text of its own to excuse anything
        return ""
    return "\n".join(cell.source for cell in nb.cells)


def feedback(course: Course, students: list[str] | None = None, progress: bool = True,
             module: str | None = None) -> dict[str, list[str]]:
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
        problems[student] = leaks(course, student, module)
    return problems
