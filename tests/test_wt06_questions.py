"""The wt06 questions: every reference query runs on its pristine warehouse and on the variant, and the
variant changes the expected values wherever the data can change them (so typed-in answers fail)."""

from __future__ import annotations

import re

import pytest

from incidentlab.exercises import wt06_data_stale as ex

# Answers read from dbt's graph only: the variant replays other data through the same dbt project.
GRAPH_ONLY = {"selector_coverage", "gate_tests"}


def test_names_are_unique_and_match_their_variables():
    names = [q.name for q in ex.QUESTIONS]
    assert len(names) == len(set(names)) >= 15
    for q in ex.QUESTIONS:
        assert getattr(ex, q.name) is q
        assert q.module == "wt06_data_stale"


@pytest.mark.parametrize("question", ex.QUESTIONS, ids=lambda q: q.name)
def test_reference_runs_on_both_versions_of_the_incident(warehouses, question):
    main = question.expected()
    variant = question.expected(variant=True)
    assert len(main) > 0 and len(variant) > 0
    assert list(main.columns) == list(variant.columns)
    assert len(main) <= 30, "keep results readable: at most 30 rows"
    same = main.astype(str).sort_values(list(main.columns)).reset_index(drop=True).equals(
        variant.astype(str).sort_values(list(variant.columns)).reset_index(drop=True))
    assert same == (question.name in GRAPH_ONLY), "a question whose answer is the same on the variant " \
        "cannot catch typed-in constants"


@pytest.mark.parametrize("question", ex.QUESTIONS, ids=lambda q: q.name)
def test_reference_sql_style(question):
    sql = question.reference.strip()
    assert sql.startswith("with"), "import CTEs first"
    assert sql.rstrip(";").endswith("select * from final")
    assert sql == sql.lower() or re.sub(r"'[^']*'", "", sql) == re.sub(r"'[^']*'", "", sql).lower()
    assert not re.search(r"\bnow\(\)|current_timestamp", sql), "use scenario_now(): now() is today"
