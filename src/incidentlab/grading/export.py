"""The grades CSV: one row per student, a column per graded cell, the total, and why a row needs a look; and a
row for each export entry collect left out because it is the same student as another. Ids and reasons are
plain text (``incidentlab.grading.plain``)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import nbformat

from incidentlab.grading import atomic
from incidentlab.grading.course import Course
from incidentlab.grading.plain import plain
from incidentlab.grading.repair import grade_id


def question_columns(course: Course) -> list[tuple[str, str]]:
    """(notebook, grade_id) of every graded cell, in the order the release shows them."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        graded = {nb.name: {c.name for c in list(nb.grade_cells) + list(nb.task_cells)}
                  for nb in gb.find_assignment(course.assignment).notebooks}
    columns = []
    for name in sorted(graded):
        nb = nbformat.read(course.release / f"{name}.ipynb", as_version=4)
        columns += [(name, gid) for cell in nb.cells if (gid := grade_id(cell)) is not None and gid in graded[name]]
    return columns


def _notes(path: Path) -> Any:
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        return {}


def rows(course: Course) -> tuple[list[str], list[dict]]:
    from nbgrader.api import Gradebook, MissingEntry

    columns = question_columns(course)
    header = ["student_id", "status", "total", "max_total"] + [f"{nb}:{gid}" for nb, gid in columns] + ["reason"]
    out = []
    students = sorted(set(course.students()) | {p.stem for p in (course.pipeline / "results").glob("*.json")})
    with Gradebook(course.db_url, course.course_id) as gb:
        for student in students:
            result = _notes(course.result_file(student))
            collected = _notes(course.collect_notes(student)).get("notes", [])
            reason = "; ".join(collected + ([result["reason"]] if result.get("reason") else []))
            row = {"student_id": plain(student), "status": plain(result.get("status", "not graded")),
                   "reason": plain(reason)}
            try:
                submission = gb.find_submission(course.assignment, student)
            except MissingEntry:
                out.append(row)
                continue
            scores = {(g.notebook.notebook.name, g.cell.name): g for nb in submission.notebooks for g in nb.grades}
            total = maximum = 0.0
            for nb, gid in columns:
                grade = scores.get((nb, gid))
                if grade is None:
                    continue
                maximum += grade.max_score
                if grade.score is not None:
                    total += grade.score
                    row[f"{nb}:{gid}"] = f"{grade.score:g}"
                if grade.needs_manual_grade and "needs manual grading" not in row["status"]:
                    row["status"] += ", needs manual grading"
            row["total"], row["max_total"] = f"{total:g}", f"{maximum:g}"
            out.append(row)
    return header, out + _left_out(course)


def _left_out(course: Course) -> list[dict]:
    """A row per export entry the last collect left out (two entries that are one student)."""
    from incidentlab.grading.collect import conflicts_file

    entries: list[dict] = _notes(conflicts_file(course)) or []  # a list of entries, {} when there is none
    return [{"student_id": plain(e["student"]), "status": "not collected",
             "reason": plain(f"export entry {e['entry']!r}: {e['reason']}")} for e in entries]


def export(course: Course, dest: Path | None = None) -> Path:
    dest = dest or course.pipeline / "grades.csv"
    header, data = rows(course)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(data)
    atomic.write_text(dest, buffer.getvalue())
    return dest
