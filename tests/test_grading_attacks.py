"""Attacks on the SQL judge through the real commands (collect, autograde, grades): each scores 0 on its questions,
leaks nothing, and the honest student graded right after it, in the same worker, scores exactly as alone."""

from __future__ import annotations

import re

import pytest
from grading_corpus.attacks import ATTACKS, honest
from grading_corpus.mutations import build_export, expected_status
from grading_corpus.tiny_course import MODULE, make_course

from incidentlab.grading import export as export_mod
from incidentlab.grading.answer_key import read_key
from incidentlab.grading.autograde import autograde
from incidentlab.grading.collect import collect
from incidentlab.grading.limits import Limits
from incidentlab.grading.release import release

pytestmark = pytest.mark.slow

LIMITS = Limits(query_timeout=3)


@pytest.fixture(scope="module")
def graded(warehouses, tmp_path_factory):
    root = tmp_path_factory.mktemp("attacks")
    # Students are graded in the order of their names: each attack is followed by an honest student, and one
    # honest student goes first, before any attack.
    cases = {"a00_alone": honest(0)}
    for i, (name, case) in enumerate(ATTACKS.items(), start=1):
        cases[f"a{i:02d}_{name}"] = case
        cases[f"a{i:02d}_{name}_then_honest"] = honest(i)
    course = make_course(root / "course")
    release(course)
    build_export(course, root / "export", cases)
    collect(course, root / "export")
    summary = autograde(course, workers=1, limits=LIMITS, progress=False, module=MODULE)
    rows = {row["student_id"]: row for row in export_mod.rows(course)[1]}
    return course, cases, summary, rows


def _attacks():
    return [pytest.param(f"a{i:02d}_{name}", case, id=name) for i, (name, case) in enumerate(ATTACKS.items(), 1)]


@pytest.mark.parametrize("student, case", _attacks())
def test_an_attack_scores_zero_and_leaks_nothing(graded, student, case):
    course, _, _, rows = graded
    row = rows[student]
    assert row["status"] == expected_status(case, course) and case.reason in row["reason"], row
    assert float(row["total"]) == 0, row
    notebook = course.autograded(student) / "tiny.ipynb"
    text = notebook.read_text() if notebook.exists() else ""
    verdicts = re.findall(r"[✗✓][^\\\n\"]*", text)
    assert verdicts or case.status != "graded"
    for verdict in verdicts:
        assert "leak:" not in verdict and "run_0" not in verdict and "/tmp" not in verdict, verdict
        assert "Error:" not in verdict or "Binder Error" in verdict, verdict  # never the database's own words
    for key in read_key(MODULE).values():
        assert not any(line.strip() in " ".join(verdicts) for line in key.splitlines() if len(line.split()) >= 3)


@pytest.mark.parametrize("student, case", _attacks())
def test_the_honest_student_after_an_attack_keeps_their_grade(graded, student, case):
    _, _, summary, rows = graded
    alone, after = rows["a00_alone"], rows[f"{student}_then_honest"]
    assert alone["total"] == alone["max_total"] and alone["reason"] == ""
    assert {k: v for k, v in after.items() if k != "student_id"} == \
        {k: v for k, v in alone.items() if k != "student_id"}


def test_the_limits_are_limits(graded):
    _, _, summary, _ = graded
    for name in ("slow", "huge_result", "huge_string", "levenshtein"):
        student = next(s for s in summary.results if s.endswith(f"_{name}"))
        assert summary.results[student]["seconds"] < 2 * (LIMITS.query_timeout + 5), (name, summary.results[student])
