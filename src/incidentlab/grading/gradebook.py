"""The course gradebook: a template for sandboxes, and the single writer that merges sandbox results.

Each merge is one SQLite transaction, so a crash leaves the gradebook as it was before that student.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from incidentlab.errors import IncidentLabError
from incidentlab.grading.course import Course


def _sqlite_file(db_url: str) -> Path:
    prefix = "sqlite:///"
    if not db_url.startswith(prefix):
        raise IncidentLabError(f"the grading pipeline needs an SQLite gradebook; the course uses {db_url}")
    return Path(db_url[len(prefix):])


def make_template(course: Course, dest: Path) -> Path:
    """A snapshot of the course gradebook with the assignment's structure and no students."""
    from nbgrader.api import Gradebook, MissingEntry

    source = _sqlite_file(course.db_url)
    if not source.exists():
        raise IncidentLabError(f"no gradebook at {source}; run `incidentlab grade release` first")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(dest) as out:
        src.backup(out)
    src.close()
    out.close()
    with Gradebook(f"sqlite:///{dest}", course.course_id) as gb:
        try:
            gb.find_assignment(course.assignment)
        except MissingEntry:
            raise IncidentLabError(f"the gradebook {source} has no assignment {course.assignment}; "
                                   "run `incidentlab grade release` first") from None
        for student in list(gb.students):
            gb.remove_student(student.id)
    return dest


def open_gradebook(course: Course):
    """The course gradebook, to be held open by the single writer for a whole run (one engine, whose compiled
    statements serve every merge)."""
    from nbgrader.api import Gradebook

    return Gradebook(course.db_url, course.course_id)


def merge(course: Course, result: dict, gb=None) -> None:
    """Write one sandbox result into the course gradebook (``gb`` if the writer holds it open), in a single
    transaction."""
    if gb is None:
        with open_gradebook(course) as gb:
            return merge(course, result, gb)
    from nbgrader.api import Comment, Grade, MissingEntry, Student, SubmittedAssignment, SubmittedNotebook
    from nbgrader.utils import parse_utc

    db = gb.db
    try:
        try:
            student = gb.find_student(result["student"])
        except MissingEntry:
            student = Student(id=result["student"])
            db.add(student)
        try:
            submission = gb.find_submission(course.assignment, result["student"])
        except MissingEntry:
            # nbgrader's add_submission, without its intermediate commit
            assignment = gb.find_assignment(course.assignment)
            with db.no_autoflush:
                submission = SubmittedAssignment(assignment=assignment, student=student)
                db.add(submission)
                for notebook in assignment.notebooks:
                    nb = SubmittedNotebook(notebook=notebook, assignment=submission)
                    db.add(nb)
                    for cell in notebook.grade_cells:
                        db.add(Grade(cell=cell, notebook=nb))
                    for cell in notebook.solution_cells:
                        db.add(Comment(cell=cell, notebook=nb))
                    for cell in notebook.task_cells:
                        db.add(Comment(cell=cell, notebook=nb))
                        db.add(Grade(cell=cell, notebook=nb))
            db.flush()
        if result.get("timestamp"):
            submission.timestamp = parse_utc(result["timestamp"])
        for nb in submission.notebooks:
            data = result["notebooks"].get(nb.notebook.name, {"cells": {}, "comments": {}})
            for grade in nb.grades:
                cell = data["cells"].get(grade.cell.name, {"auto_score": 0.0, "needs_manual_grade": False})
                grade.auto_score = cell["auto_score"]
                grade.needs_manual_grade = bool(cell["needs_manual_grade"] or grade.manual_score is not None)
            for comment in nb.comments:
                comment.auto_comment = data["comments"].get(comment.cell.name)
        db.commit()
    except BaseException:
        db.rollback()
        raise


def has_submission(course: Course, student: str, gb=None) -> bool:
    from nbgrader.api import MissingEntry

    if gb is None:
        with open_gradebook(course) as gb:
            return has_submission(course, student, gb)
    try:
        gb.find_submission(course.assignment, student)
    except MissingEntry:
        return False
    return True
