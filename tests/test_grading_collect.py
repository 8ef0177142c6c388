"""Collecting a hostile LMS export: links are never followed, oversized notebooks are refused, two entries that
are one student are both left out, and every other student is collected."""

from __future__ import annotations

import os
import stat
import zipfile

import nbformat
import pytest
from traitlets.config import Config

from incidentlab.grading.collect import MAX_CELL_CHARS, MAX_NOTEBOOK_BYTES, collect
from incidentlab.grading.course import Course


def _notebook(answer: str = "x = 1") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(answer)
    cell.metadata["nbgrader"] = {"grade_id": "a1", "schema_version": 3, "solution": True, "grade": False,
                                 "locked": False}
    nb.cells = [nbformat.v4.new_markdown_cell("intro"), cell]
    return nb


@pytest.fixture
def course(tmp_path):
    config = Config()
    config.CourseDirectory.root = str(tmp_path / "course")
    course = Course(config, "hw")
    course.release.mkdir(parents=True)
    nbformat.write(_notebook(), course.release / "hw.ipynb")
    return course


@pytest.fixture
def export(tmp_path):
    """An export with one ordinary student, bob, who must be collected whatever the others sent."""
    export = tmp_path / "export"
    export.mkdir()
    nbformat.write(_notebook("bob's answer"), export / "bob.ipynb")
    return export


@pytest.fixture
def secret(tmp_path):
    """A notebook outside the export (the course's master) that a link may point at."""
    folder = tmp_path / "master"
    folder.mkdir()
    nbformat.write(_notebook("SECRET SOLUTION"), folder / "hw.ipynb")
    return folder


def _answer(course, student):
    return nbformat.read(course.submitted(student) / "hw.ipynb", as_version=4).cells[1].source


def _bob_collected(course, done):
    assert done.students["bob"] == ["bob.ipynb taken as hw.ipynb"] and _answer(course, "bob") == "bob's answer"


def test_an_export_entry_that_is_a_link_is_skipped(course, export, secret):
    (export / "dan.ipynb").symlink_to(secret / "hw.ipynb")
    (export / "eve").symlink_to(secret)
    done = collect(course, export)
    assert sorted(done.students) == ["bob"]
    assert done.skipped == ["dan.ipynb (a symbolic link; not collected)", "eve (a symbolic link; not collected)"]
    assert not course.submitted("dan").exists() and not course.submitted("eve").exists()
    _bob_collected(course, done)


def test_links_inside_a_folder_are_not_followed(course, export, secret):
    ann = export / "ann"
    (ann / "work").mkdir(parents=True)
    nbformat.write(_notebook("ann's answer"), ann / "work" / "hw (1).ipynb")
    (ann / "hw.ipynb").symlink_to(secret / "hw.ipynb")
    (ann / "passwd.ipynb").symlink_to("/etc/passwd")
    (ann / "master").symlink_to(secret)
    (ann / "work" / "up").symlink_to(ann)  # a loop, if it were followed
    done = collect(course, export)
    assert _answer(course, "ann") == "ann's answer"
    assert sorted(p.name for p in course.submitted("ann").iterdir()) == ["hw.ipynb", "timestamp.txt"]
    assert done.students["ann"] == [
        "hw.ipynb is a symbolic link; not collected",
        "master is a symbolic link; not collected",
        "passwd.ipynb is a symbolic link; not collected",
        "work/up is a symbolic link; not collected",
        "hw (1).ipynb taken as hw.ipynb",
    ]
    _bob_collected(course, done)


def test_a_link_in_a_zip_is_not_extracted(course, export):
    with zipfile.ZipFile(export / "cy.zip", "w") as zf:
        link = zipfile.ZipInfo("cy/hw.ipynb")
        link.create_system = 3  # unix
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("cy/hw (2).ipynb", nbformat.writes(_notebook("cy's answer")))
    done = collect(course, export)
    assert _answer(course, "cy") == "cy's answer"
    assert done.students["cy"] == ["cy/hw.ipynb in cy.zip is a symbolic link; not collected",
                                   "hw (2).ipynb taken as hw.ipynb"]
    _bob_collected(course, done)


def test_special_files_are_never_opened(course, export):
    os.mkfifo(export / "fay.ipynb")  # reading it would wait forever
    (export / "gus").mkdir()
    os.mkfifo(export / "gus" / "hw.ipynb")
    done = collect(course, export)
    assert done.skipped == ["fay.ipynb (not a folder, .ipynb or .zip)"]
    assert done.students["gus"] == ["hw.ipynb is not a regular file; not collected"]
    _bob_collected(course, done)


def test_a_notebook_over_the_size_limit_is_refused(course, export):
    nb = _notebook()
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="x" * MAX_NOTEBOOK_BYTES)]
    (export / "hal").mkdir()
    nbformat.write(nb, export / "hal" / "hw.ipynb")
    scratch = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("scratch")])
    nbformat.write(scratch, export / "hal" / "extra.ipynb")
    done = collect(course, export)
    assert done.students["hal"] == ["hw.ipynb is 20.0 MB, over the 20 MB limit for a notebook; not collected"]
    assert not (course.submitted("hal") / "hw.ipynb").exists()
    assert (course.submitted("hal") / "extra.ipynb").exists()  # a notebook of another name: autograde reports it
    _bob_collected(course, done)


def test_a_cell_over_the_size_limit_is_refused(course, export):
    nbformat.write(_notebook("x" * (MAX_CELL_CHARS + 1)), export / "ivy.ipynb")
    nbformat.write(_notebook("x" * MAX_CELL_CHARS), export / "jo.ipynb")  # at the limit: collected
    (export / "kim.ipynb").write_text('{"cells": ' + "[" * 100_000)
    done = collect(course, export)
    assert done.students["ivy"] == [
        "ivy.ipynb: cell 2 has 200,001 characters, over the 200,000-character limit for a cell; not collected"]
    assert list(course.submitted("ivy").iterdir()) == [course.submitted("ivy") / "timestamp.txt"]
    assert done.students["jo"] == ["jo.ipynb taken as hw.ipynb"]
    assert "kim.ipynb is not a notebook (its JSON is nested too deeply" in done.students["kim"][0]
    _bob_collected(course, done)


def test_two_entries_of_one_student_are_both_left_out(course, export):
    nbformat.write(_notebook(), export / "Jane Doe_123.ipynb")
    (export / "Jane_Doe_123").mkdir()
    nbformat.write(_notebook(), export / "Jane_Doe_123" / "hw.ipynb")
    with zipfile.ZipFile(export / "lu.zip", "w") as zf:
        zf.writestr("hw.ipynb", nbformat.writes(_notebook()))
    (export / "lu").mkdir()
    (export / "lu.ipynb").mkdir()  # a folder with a notebook's name is a folder entry too
    done = collect(course, export)
    assert done.conflicts == [
        "Jane Doe_123.ipynb and Jane_Doe_123: both map to student 'Jane_Doe_123'; neither was collected"
        " — rename one and collect again",
        "lu, lu.ipynb and lu.zip: all map to student 'lu'; none was collected — rename all but one and collect again",
    ]
    assert sorted(done.students) == ["bob"]
    assert not course.submitted("Jane_Doe_123").exists()
    assert "  " + done.conflicts[0] in done.lines()
    _bob_collected(course, done)


def test_names_from_the_export_reach_the_terminal_and_the_csv_as_plain_text(course, export, tmp_path):
    """Escape sequences in file names and grade ids are taken out; two entries that are one student each get a
    row of the grades CSV, with a status and a reason, next to the students collected."""
    from nbgrader.api import Gradebook

    from incidentlab.grading.export import export as write_csv

    nbformat.write(_notebook(), export / "h04 one right.ipynb")
    (export / "h04_one_right").mkdir()
    nbformat.write(_notebook(), export / "h04_one_right" / "hw.ipynb")
    (export / "eve").mkdir()
    nbformat.write(_notebook(), export / "eve" / "\x1b[2J\x1b]0;pwned\x07notes\x1b[31m.ipynb")
    done = collect(course, export)
    shown = "\n".join(done.lines())
    assert "\x1b" not in shown and "\x07" not in shown and "notes.ipynb" in shown
    course.root.mkdir(parents=True, exist_ok=True)
    with Gradebook(course.db_url, course.course_id) as gb:
        gb.add_assignment("hw")
    csv_text = write_csv(course).read_text()
    assert "\x1b" not in csv_text and "\x07" not in csv_text
    rows = [line.split(",", 2) for line in csv_text.splitlines()[1:]]
    left_out = [row for row in rows if row[0] == "h04_one_right"]
    assert len(left_out) == 2 and all(row[1] == "not collected" for row in left_out)
    assert any("'h04 one right.ipynb'" in row[2] for row in left_out)
    assert any("'h04_one_right'" in row[2] for row in left_out)
    assert {"bob", "eve"} <= {row[0] for row in rows}
