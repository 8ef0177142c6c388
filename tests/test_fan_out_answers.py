"""The checker catches a fan-out where a comparison of sets would not.

A join that fans out repeats rows: each right row comes back twice or more. Compared as sets (distinct rows), such a
result equals the right one; the judge compares multisets, so it rejects it and says where duplicates come from.
Each case takes the master's solution of a wt05 question (the key itself, wrapped, would go to the instructor)
and makes it return its rows more than once: by union all of the solution with itself, by a join to a table with
several rows per key (the fan-out of the incident), and
by union all in a recursive walk of dbt's graph, where a node reached by two paths comes twice.
"""

from __future__ import annotations

import pytest

from incidentlab.checking.compare import rows_of
from incidentlab.exercises import load
from incidentlab.grading.answer_key import REVIEW, Judge, read_key
from incidentlab.grading.warehouses import LockedWarehouse
from incidentlab.paths import warehouse_path

MODULE = "wt05_fan_out"
FANS_OUT = "join that fans out"


def doubled(key: str) -> str:
    """The key's rows, each twice."""
    return f"select * from ({key}) as first_copy\nunion all\nselect * from ({key}) as second_copy"


def joined_to_orders(key: str) -> str:
    """The key's rows of booked days, each repeated once per raw order of that day: the incident's own fan-out."""
    return f"select k.*\nfrom ({key}) as k\njoin raw.raw_orders as o on o.order_date = k.revenue_date"


# The blast radius as a student might write it: union all in the recursion. finance_kpis reads both marts, so it is
# reached by two paths and comes twice.
BLAST_RADIUS_UNION_ALL = """
with recursive down as (
    select child as name from dbt_graph.edges where parent = 'stg_orders'
    union all
    select e.child from dbt_graph.edges e join down on e.parent = down.name
)
select n.name, n.resource_type from down join dbt_graph.nodes n on n.name = down.name
where n.resource_type != 'test'
"""

CASES = [
    pytest.param("dashboard_vs_finance", doubled, id="dashboard_vs_finance-union-all-of-the-key"),
    pytest.param("reconciliation", doubled, id="reconciliation-union-all-of-the-key"),
    pytest.param("order_grain", doubled, id="order_grain-union-all-of-the-key"),
    pytest.param("dashboard_vs_finance", joined_to_orders, id="dashboard_vs_finance-joined-to-the-orders"),
    pytest.param("reconciliation", joined_to_orders, id="reconciliation-joined-to-the-orders"),
    pytest.param("blast_radius", lambda key: BLAST_RADIUS_UNION_ALL, id="blast_radius-union-all-recursion"),
]

_judge: dict[str, Judge] = {}


def judge() -> Judge:
    if MODULE not in _judge:
        _judge[MODULE] = Judge(MODULE, query_timeout=30)
    return _judge[MODULE]


def solution(question: str) -> str:
    """The master notebook's query for ``question``: right, and another text than the key's."""
    import nbformat

    from incidentlab.paths import project_root

    for path in sorted((project_root() / "notebooks" / MODULE).glob("*.ipynb")):
        for nb_cell in nbformat.read(path, as_version=4).cells:
            if nb_cell.source.startswith(f"%%sql answer_{question} <<"):
                return nb_cell.source.split("\n", 1)[1].replace("-- ### BEGIN SOLUTION", "").replace(
                    "-- ### END SOLUTION", "").strip().rstrip(";")
    raise LookupError(question)


def stage_of(question: str) -> str:
    return next(q.stage for q in load(MODULE) if q.name == question)


def cell(question: str, sql: str) -> str:
    return f"%%sql answer_{question} <<\n{sql.strip()}"


@pytest.mark.parametrize("question, fan_out", CASES)
def test_a_set_comparison_misses_the_fan_out_and_the_judge_does_not(warehouses, question, fan_out):
    key = read_key(MODULE)[question]
    wrong = fan_out(solution(question))
    warehouse = LockedWarehouse(warehouse_path(MODULE, stage_of(question)))
    expected = warehouse.run(key, time_limit=30)
    actual = warehouse.run(wrong, time_limit=30)
    columns = [c.lower() for c in expected.columns]
    got, want = rows_of(actual, columns), rows_of(expected, columns)

    # The rows repeat: more rows than the key, and as sets the two results are the same.
    assert len(want) > 0 and len(set(want)) == len(want), "the key itself returns each row once"
    assert len(got) > len(want)
    assert set(got) == set(want), "a comparison of distinct rows would call the fanned-out result right"

    # The judge compares multisets: rejected on the question's own warehouse, duplicates named as a fan-out.
    verdict = judge().verdict(question, cell(question, wrong))
    assert not verdict.passed
    assert "not the expected ones" in verdict.message and "right on this warehouse" not in verdict.message
    assert "exact cop" in verdict.message and FANS_OUT in verdict.message, verdict.message


def test_the_solution_itself_is_right_once_written_differently(warehouses):
    """The control: the solution's rows once, wrapped the same way, pass everywhere; the key wrapped so is the key."""
    right = solution("dashboard_vs_finance")
    verdict = judge().verdict("dashboard_vs_finance", cell("dashboard_vs_finance", f"select * from ({right}) as once"))
    assert verdict.passed, verdict.message
    key = read_key(MODULE)["dashboard_vs_finance"]
    verdict = judge().verdict("dashboard_vs_finance", cell("dashboard_vs_finance", f"select * from ({key}) as once"))
    assert not verdict.passed and verdict.review and REVIEW in verdict.message
