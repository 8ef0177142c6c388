"""The corpus follows the real release: every mutation applies to the wt06 notebooks, and what the pipeline
hands nbgrader after collect and repair has the release's graded cells, once each, in order."""

from __future__ import annotations

import copy

import nbformat
import pytest
from grading_corpus.mutations import CASES, build_export
from traitlets.config import Config

from incidentlab.grading.collect import collect
from incidentlab.grading.course import Course, load_config
from incidentlab.grading.release import release
from incidentlab.grading.repair import UnreadableNotebook, grade_id, read, restore_structure

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    root = tmp_path_factory.mktemp("wt06_course")
    config = Config(copy.deepcopy(load_config()))
    config.CourseDirectory.root = str(root / "course")
    config.CourseDirectory.db_url = f"sqlite:///{root / 'course' / 'gradebook.db'}"
    course = Course(config, "wt06_data_stale")
    release(course)
    build_export(course, root / "export")
    collected = collect(course, root / "export")
    return course, collected


def _tagged(nb) -> list[str]:
    return [gid for cell in nb.cells if (gid := grade_id(cell))]


def test_the_release_has_several_notebooks(real):
    course, _ = real
    assert len(course.notebooks()) >= 2


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_collected_case_repairs_to_the_released_structure(real, case):
    course, collected = real
    assert case in collected.students
    for name in course.notebooks():
        released = nbformat.read(course.release / f"{name}.ipynb", as_version=4)
        path = course.submitted(case) / f"{name}.ipynb"
        if CASES[case].static and not path.exists():
            continue  # another course's notebook in place of the assignment
        try:
            nb = read(path)
        except UnreadableNotebook:
            assert CASES[case].static, f"{case}: {name} should be readable"
            continue
        repaired, notes = restore_structure(nb, released)
        assert _tagged(repaired) == _tagged(released)
        for cell, ref in zip((c for c in repaired.cells if grade_id(c)), (c for c in released.cells if grade_id(c))):
            assert cell.cell_type == ref.cell_type
        if CASES[case].reason in ("deleted; restored", "released order", "changed back", "duplicated") \
                and name == course.notebooks()[0]:
            assert any(CASES[case].reason in note for note in notes), notes
