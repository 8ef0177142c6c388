"""The mutation corpus: answers to every graded question written from the exercise's text alone, right ones
and wrong ones (typed-in constants and each bug class), and the judge's verdict on each.

A right answer passes; a wrong one fails, on the question's warehouse or on a variant built to catch its kind;
a message says "typed-in constants" exactly where that is the cause. The masters' own solutions pass too.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import nbformat
import pytest

from incidentlab.exercises import load, modules
from incidentlab.grading.answer_key import Judge
from incidentlab.grading.grade_answers import answer_id, question_of
from incidentlab.grading.repair import grade_id
from incidentlab.paths import project_root

CORPUS = Path(__file__).parent / "answer_corpus"
TYPED = "typed-in constant"
MIN_RIGHT, MIN_WRONG = 3, 6


def _entries():
    for module in modules():
        for question in load(module):
            path = CORPUS / module / f"{question.name}.toml"
            spec = tomllib.loads(path.read_text()) if path.exists() else {}
            for kind in ("right", "wrong"):
                for i, entry in enumerate(spec.get(kind, []), start=1):
                    yield pytest.param(module, question.name, kind, entry,
                                       id=f"{module}.{question.name}.{kind}{i}")


def _masters():
    for module in modules():
        for path in sorted((project_root() / "notebooks" / module).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            cells = {grade_id(c): c.source for c in nb.cells if grade_id(c)}
            for gid in cells:
                name = question_of(gid, [q.name for q in load(module)])
                if name:
                    yield pytest.param(module, name, cells[answer_id(gid)], id=f"{module}.{name}")


_judges: dict[str, Judge] = {}


def judge(module: str) -> Judge:
    if module not in _judges:
        _judges[module] = Judge(module, query_timeout=30)
    return _judges[module]


@pytest.mark.parametrize("module", modules())
def test_every_question_has_its_corpus(module):
    for question in load(module):
        path = CORPUS / module / f"{question.name}.toml"
        assert path.exists(), f"no corpus for {question.name}: write {path.relative_to(project_root())}"
        spec = tomllib.loads(path.read_text())
        assert len(spec.get("right", [])) >= MIN_RIGHT, f"{question.name}: fewer than {MIN_RIGHT} right answers"
        assert len(spec.get("wrong", [])) >= MIN_WRONG, f"{question.name}: fewer than {MIN_WRONG} wrong answers"
        assert all(entry.get("bug") for entry in spec["wrong"]), f"{question.name}: a wrong answer names no bug"


@pytest.mark.parametrize("module, question, kind, entry", list(_entries()))
def test_the_judge_tells_right_from_wrong(warehouses, module, question, kind, entry):
    verdict = judge(module).verdict(question, f"%%sql answer_{question} <<\n{entry['sql'].strip()}")
    if kind == "right":
        assert verdict.passed, f"a right answer ({entry.get('note', '')}) is rejected:\n{verdict.message}"
        return
    assert not verdict.passed, f"a wrong answer ({entry['bug']}: {entry.get('note', '')}) passes"
    if "right on this warehouse, but" in verdict.message:
        named = "typed-in constants" in verdict.message
        assert named == (entry["bug"] == TYPED), (
            f"{entry['bug']}: the message {'names' if named else 'does not name'} typed-in constants:\n"
            f"{verdict.message}")


@pytest.mark.parametrize("module, question, source", list(_masters()))
def test_the_masters_solutions_pass(warehouses, module, question, source):
    verdict = judge(module).verdict(question, source)
    assert verdict.passed, verdict.message
