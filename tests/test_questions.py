"""Every module's questions: the student's data (shape, notebook) agrees with the answer key, every key query runs
on its warehouse and on every variant, and each question's right result changes on at least one variant (so a
typed-in answer fails)."""

from __future__ import annotations

import re

import pytest

from incidentlab.exercises import load, modules
from incidentlab.grading.answer_key import read_key, versions
from incidentlab.grading.warehouses import LockedWarehouse
from incidentlab.paths import project_root

QUESTIONS = [q for module in modules() for q in load(module)]
IDS = [f"{q.module}.{q.name}" for q in QUESTIONS]
_keys: dict[str, dict[str, str]] = {}


def key(question) -> str:
    if question.module not in _keys:
        _keys[question.module] = read_key(question.module)
    return _keys[question.module][question.name]


def _result(path, sql):
    return LockedWarehouse(path).run(sql, time_limit=60)


def _same(a, b) -> bool:
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    key = list(a.columns)
    return a.astype(str).sort_values(key).reset_index(drop=True).equals(
        b.astype(str).sort_values(key).reset_index(drop=True))


@pytest.mark.parametrize("module", modules())
def test_every_question_has_a_key_and_every_key_a_question(module):
    names = [q.name for q in load(module)]
    assert len(names) == len(set(names)) >= 10
    assert sorted(read_key(module)) == sorted(names)
    for q in load(module):
        assert (project_root() / "notebooks" / module / f"{q.notebook}.ipynb").exists(), q.name


@pytest.mark.parametrize("question", QUESTIONS, ids=IDS)
def test_the_students_shape_is_the_keys(warehouses, question):
    """What the student's check compares (columns, rows) is what the key gives on the question's warehouse."""
    (_, _, home), *_ = versions(question.module, question.stage)
    result = _result(home, key(question))
    assert [c.lower() for c in result.columns] == list(question.columns)
    assert len(result) == question.rows


@pytest.mark.parametrize("question", QUESTIONS, ids=IDS)
def test_the_key_runs_everywhere_and_a_variant_changes_the_answer(warehouses, question):
    (_, _, home), *variants = versions(question.module, question.stage)
    main = _result(home, key(question))
    assert 0 < len(main) <= 30, "keep results readable: at most 30 rows"
    changed = []
    for name, description, path in variants:
        other = _result(path, key(question))
        assert len(other) > 0, f"the key gives no row on {name}"
        assert list(other.columns) == list(main.columns)
        assert description and not re.search(r"\d", description), "a variant's description states no value"
        if not _same(main, other):
            changed.append(name)
    assert changed, "the right answer is the same on every variant: a typed-in answer would pass"


@pytest.mark.parametrize("question", QUESTIONS, ids=IDS)
def test_key_sql_style(question):
    sql = key(question).strip()
    assert sql.startswith("with"), "import CTEs first"
    assert sql.rstrip(";").endswith("select * from final")
    assert sql == sql.lower() or re.sub(r"'[^']*'", "", sql) == re.sub(r"'[^']*'", "", sql).lower()
    assert not re.search(r"\bnow\(\)|current_timestamp", sql), "use scenario_now(): now() is today"
