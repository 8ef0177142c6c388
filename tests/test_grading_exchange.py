"""Collecting from nbgrader's exchange as from an LMS export: each student's latest submission, only from a folder
that student owns, never through a link, with nbgrader's time unless the folder was changed later; feedback
released through the exchange under the name nbgrader's fetch_feedback looks for."""

from __future__ import annotations

import datetime as dt
import os
import pwd

import nbformat
import pytest
from test_grading_collect import _notebook
from traitlets.config import Config

from incidentlab.grading import exchange
from incidentlab.grading.course import Course

ME = pwd.getpwuid(os.getuid()).pw_name  # the owner of every folder this test makes
SECRET = "ab" * 64


def _when(seconds_ago: float) -> str:
    """nbgrader's submit names a folder with the time it makes it: now (when the test runs), less ``seconds_ago``."""
    return f"{dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago):%Y-%m-%d %H:%M:%S.%f} UTC"


@pytest.fixture
def course(tmp_path):
    config = Config()
    config.CourseDirectory.root = str(tmp_path / "course")
    config.CourseDirectory.course_id = "c101"
    config.Exchange.root = str(tmp_path / "exchange")
    course = Course(config, "hw")
    course.release.mkdir(parents=True)
    nbformat.write(_notebook(), course.release / "hw.ipynb")
    (tmp_path / "exchange" / "c101" / "inbound").mkdir(parents=True)
    return course


def _submit(course, student: str, when: str, answer: str, name: str = "hw.ipynb", secret: str = SECRET):
    folder = exchange.root(course) / "c101" / "inbound" / f"{student}+hw+{when}+r4nd0m"
    folder.mkdir()
    nbformat.write(_notebook(answer), folder / name)
    (folder / "timestamp.txt").write_text(when)
    (folder / "submission_secret.txt").write_text(secret)
    return folder


def _answer(course, student):
    return nbformat.read(course.submitted(student) / "hw.ipynb", as_version=4).cells[1].source


def test_the_latest_submission_is_collected_with_nbgraders_time_and_secret(course):
    old, new = _when(30), _when(0)
    _submit(course, ME, old, "first try")
    _submit(course, ME, new, "second try", name="hw (1).ipynb")
    done = exchange.collect(course)
    assert _answer(course, ME) == "second try"
    assert done.students[ME] == ["the latest of 2 submissions collected", "hw (1).ipynb taken as hw.ipynb"]
    assert (course.submitted(ME) / "timestamp.txt").read_text() == new
    assert (course.submitted(ME) / "submission_secret.txt").read_text() == SECRET
    assert sorted(p.name for p in course.submitted(ME).iterdir()) == ["hw.ipynb", "submission_secret.txt",
                                                                      "timestamp.txt"]


def test_a_submission_in_someone_elses_name_is_not_collected(course):
    new = _when(0)
    _submit(course, "alice", new, "planted")
    done = exchange.collect(course)
    assert "alice" not in done.students and not course.submitted("alice").exists()
    assert done.conflicts == [f"alice: alice+hw+{new}+r4nd0m names alice but belongs to {ME}; not collected"]


def test_links_are_not_followed(course, tmp_path):
    new = _when(0)
    outside = tmp_path / "outside.ipynb"
    nbformat.write(_notebook("SECRET SOLUTION"), outside)
    folder = _submit(course, ME, new, "mine")
    (folder / "other.ipynb").symlink_to(outside)
    linked = exchange.root(course) / "c101" / "inbound" / f"{ME}+hw+2027-01-01 00:00:00.000000 UTC+x"
    linked.symlink_to(folder)
    done = exchange.collect(course)
    assert _answer(course, ME) == "mine"
    assert f"{linked.name} is a symbolic link; not collected" in done.students[ME]
    assert "other.ipynb is a symbolic link; not collected" in done.students[ME]
    assert not (course.submitted(ME) / "other.ipynb").exists()


def test_a_backdated_submission_counts_from_when_its_folder_changed(course):
    _submit(course, ME, "2001-01-01 00:00:00.000000 UTC", "late")
    done = exchange.collect(course)
    [note] = done.students[ME]
    assert note.startswith("submitted as of 2001-01-01 00:00 UTC, but its folder was changed at ")
    assert not (course.submitted(ME) / "timestamp.txt").read_text().startswith("2001")
    assert not (course.submitted(ME) / "submission_secret.txt").exists()  # no feedback under a forged time


def test_a_secret_that_is_not_one_is_not_kept(course):
    new = _when(0)
    _submit(course, ME, new, "mine", secret="../../../etc/passwd")
    exchange.collect(course)
    assert not (course.submitted(ME) / "submission_secret.txt").exists()


def test_feedback_is_released_under_the_name_fetch_feedback_computes(course):
    new = _when(0)
    from nbgrader.utils import notebook_hash

    _submit(course, ME, new, "mine")
    exchange.collect(course)
    course.feedback(ME).mkdir(parents=True)
    (course.feedback(ME) / "hw.html").write_text("<p>Score: 1 / 2</p>")
    (exchange.root(course) / "c101" / "feedback").mkdir()
    assert exchange.release_feedback(course) == [ME]
    released = exchange.root(course) / "c101" / "feedback" / f"{notebook_hash(secret=SECRET, notebook_id='hw')}.html"
    assert released.read_text() == "<p>Score: 1 / 2</p>"
