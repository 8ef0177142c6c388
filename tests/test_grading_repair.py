"""Reading and repairing submissions, collecting an LMS export, atomic writes: no kernel involved."""

from __future__ import annotations

import copy
import zipfile

import nbformat
import pytest
from traitlets.config import Config

from incidentlab.grading import atomic
from incidentlab.grading.collect import collect, student_id
from incidentlab.grading.course import Course
from incidentlab.grading.execute import TruncateOutputs
from incidentlab.grading.repair import UnreadableNotebook, grade_id, read, restore_structure


def _tagged(kind, gid, source="x = 1"):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    cell.metadata["nbgrader"] = {"grade_id": gid, "schema_version": 3, "solution": True, "grade": False,
                                 "locked": False}
    return cell


@pytest.fixture
def released():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("intro"), _tagged("code", "a1"), _tagged("code", "t1"),
                _tagged("code", "a2"), _tagged("code", "t2")]
    return nb


def _ids(nb):
    return [grade_id(c) for c in nb.cells]


def test_an_intact_submission_is_left_alone(released):
    repaired, notes = restore_structure(copy.deepcopy(released), released)
    assert _ids(repaired) == _ids(released) and notes == []


def test_deleted_tagged_cells_come_back_from_the_release_in_place(released):
    sub = copy.deepcopy(released)
    del sub.cells[2]
    repaired, notes = restore_structure(sub, released)
    assert _ids(repaired) == [None, "a1", "t1", "a2", "t2"]
    assert notes == ["cell 't1' was deleted; restored from the release"]


def test_moved_cells_return_to_the_released_order_with_the_students_own_cells(released):
    sub = copy.deepcopy(released)
    scratch = nbformat.v4.new_code_cell("print('scratch')")
    sub.cells = [sub.cells[0], sub.cells[3], scratch, sub.cells[4], sub.cells[1], sub.cells[2]]
    repaired, notes = restore_structure(sub, released)
    assert _ids(repaired) == [None, "a1", "t1", "a2", None, "t2"]
    assert repaired.cells[4].source == "print('scratch')"
    assert "released order" in notes[0]


def test_a_cell_turned_into_markdown_is_turned_back(released):
    sub = copy.deepcopy(released)
    sub.cells[3] = _tagged("markdown", "a2", "my answer")
    repaired, notes = restore_structure(sub, released)
    assert repaired.cells[3].cell_type == "code" and repaired.cells[3].source == "my answer"
    assert repaired.cells[3].outputs == []
    assert notes == ["cell 'a2' was changed from code to markdown; changed back"]
    nbformat.validate(repaired)


def test_duplicates_and_foreign_tags_are_kept_untagged(released):
    sub = copy.deepcopy(released)
    sub.cells.insert(2, copy.deepcopy(sub.cells[1]))
    sub.cells.append(_tagged("code", "elsewhere"))
    repaired, notes = restore_structure(sub, released)
    assert _ids(repaired) == [None, "a1", None, "t1", "a2", "t2", None]
    assert len({c.id for c in repaired.cells}) == len(repaired.cells)
    assert any("duplicated" in n for n in notes) and any("not part of this assignment" in n for n in notes)


@pytest.mark.parametrize("content, phrase", [
    (b"", "empty file"),
    (b'{"cells": [', "not valid notebook JSON (line 1"),
    (b"[1, 2]", "not a notebook"),
    (b"\xff\xfe", "not UTF-8"),
    (b'{"cells": [{"cell_type": "nonsense"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
     "not a valid notebook"),
])
def test_unreadable_notebooks_say_why(tmp_path, content, phrase):
    path = tmp_path / "01.ipynb"
    path.write_bytes(content)
    with pytest.raises(UnreadableNotebook, match="01.ipynb") as err:
        read(path)
    assert phrase in str(err.value)


def test_student_ids_come_from_names():
    assert student_id("Jane Doe_12345.ipynb") == "Jane_Doe_12345"
    assert student_id("../../etc.zip") == "etc"
    assert student_id("s042") == "s042"


def test_collect_takes_folders_notebooks_and_zips(tmp_path, released):
    config = Config()
    config.CourseDirectory.root = str(tmp_path / "course")
    course = Course(config, "hw")
    course.release.mkdir(parents=True)
    nbformat.write(released, course.release / "hw.ipynb")
    export = tmp_path / "export"
    (export / "ann").mkdir(parents=True)
    nbformat.write(released, export / "ann" / "hw (1).ipynb")  # renamed by the LMS, recognised by its cells
    nbformat.write(released, export / "bob.ipynb")
    with zipfile.ZipFile(export / "cy.zip", "w") as zf:
        zf.writestr("cy/hw.ipynb", nbformat.writes(released))
        zf.writestr("../evil.ipynb", "{}")
    (export / "notes.txt").write_text("not a submission")
    done = collect(course, export)
    assert sorted(done.students) == ["ann", "bob", "cy"]
    assert (course.submitted("ann") / "hw.ipynb").exists() and "hw (1).ipynb taken as hw.ipynb" in done.students["ann"]
    assert (course.submitted("bob") / "hw.ipynb").exists()
    assert (course.submitted("cy") / "hw.ipynb").exists() and (course.submitted("cy") / "evil.ipynb").exists()
    assert not (course.submitted("cy").parent / "evil.ipynb").exists()
    assert (course.submitted("bob") / "timestamp.txt").exists()
    assert done.skipped == ["notes.txt (not a folder, .ipynb or .zip)"]


def test_replace_tree_swaps_whole_folders(tmp_path):
    old, new = tmp_path / "dest", tmp_path / "src"
    old.mkdir()
    (old / "stale.txt").write_text("old")
    new.mkdir()
    (new / "fresh.txt").write_text("new")
    atomic.replace_tree(new, old)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert sorted(p.name for p in old.iterdir()) == ["fresh.txt"]


def test_outputs_are_cut_to_a_size():
    cell = nbformat.v4.new_code_cell("print('x' * 10**6)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 10**6)]
    TruncateOutputs(max_chars=1000).preprocess_cell(cell, {}, 0)
    assert len(cell.outputs[0].text) < 1100 and "output truncated (1,000,000 characters)" in cell.outputs[0].text
