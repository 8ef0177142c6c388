"""Mutation analysis of the answer keys: the operators, the equivalents file, and every key's survivors.

`make test` checks one question per module (the first one asked); `make test-mutants`
(INCIDENTLAB_MUTANTS_ALL=1) checks every question of every module. A question whose key still has survivors the
data does not kill, listed in tests/mutant_gaps.toml, is an expected failure (not strict) until a variant
kills them; any other survivor fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import duckdb
import pytest

from incidentlab.datasets import module_names
from incidentlab.errors import IncidentLabError
from incidentlab.exercises import load
from incidentlab.exercises import modules as graded_modules
from incidentlab.mutants.analysis import KILLED, SURVIVED, QuestionAnalysis, analyse
from incidentlab.mutants.equivalents import read_equivalents, standing
from incidentlab.mutants.generate import KeyParseError, Mutant, diff, mutants_of
from incidentlab.mutants.operators import KeyContext

EVERY_QUESTION = os.environ.get("INCIDENTLAB_MUTANTS_ALL") == "1"
GAPS = Path(__file__).with_name("mutant_gaps.toml")

TOY_KEY = """
with recursive

items as (

    select * from items_table

),

chain as (

    select child as name from edges where parent = 'a'
    union
    select edges.child as name from edges inner join chain on edges.parent = chain.name

),

grouped as (

    select
        kind,
        count(*) as n,
        count(distinct items.name) as names,
        sum(amount) as total,
        min(started) as first_at,
        round(avg(amount) / 3, 2) as avg3
    from items
    left join chain on items.name = chain.name and items.kind = 'x'
    where lower(trim(kind)) = 'x' and amount <= 10 and started > timestamp '2024-01-01 00:00:00' + interval 2 hour
        and kind in (select kind from items)
    group by kind, flag
    having count(*) > 1 or coalesce(sum(amount), 0) > 0

),

final as (

    select
        kind,
        n,
        (select max(amount) from items) as top,
        row_number() over (partition by kind order by n desc) as position
    from grouped
    union all
    select 'z', 1, 2, 3

)

select * from final order by kind
"""


@pytest.fixture()
def toy() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create table items_table (name varchar, kind varchar, flag boolean, amount integer, "
                "started timestamp, finished timestamp)")
    con.execute("insert into items_table values ('x_b', 'x', true, 4, '2024-01-02', '2024-01-03'), "
                "('x_c', 'x', false, 12, '2024-01-04', '2024-01-05')")
    con.execute("create table edges (parent varchar, child varchar)")
    con.execute("insert into edges values ('a', 'b'), ('b', 'c'), ('c', 'd'), ('d', 'e'), ('e', 'f')")
    yield con
    con.close()


def _context(con: duckdb.DuckDBPyConnection, ordered: bool = True) -> KeyContext:
    columns = {"main.items_table": {"name": "VARCHAR", "kind": "VARCHAR", "flag": "BOOLEAN",
                                    "amount": "INTEGER", "started": "TIMESTAMP", "finished": "TIMESTAMP"}}
    return KeyContext(ordered=ordered, columns=columns, rows_of=lambda sql: con.execute(sql).fetchall())


def test_every_family_of_mistakes_makes_mutants(toy):
    operators = {m.operator for m in mutants_of("toy", TOY_KEY, _context(toy))}
    expected = {"comparison", "boundary", "join-kind", "join-term-dropped", "join-term-negated",
                "conjunct-dropped", "conjunct-negated", "disjunct-dropped", "count", "aggregate", "distinct",
                "union", "group-by-dropped", "partition-dropped", "order-dropped", "order-direction",
                "round-digits", "round-removed", "integer-division", "literal", "interval", "lower-removed",
                "trim-removed", "coalesce-removed", "sibling-column", "unrolled-1", "unrolled-2", "unrolled-3",
                "unrolled-4", "typed-in-value", "typed-in-list", "name-pattern"}
    assert expected <= operators, sorted(expected - operators)


def test_mutants_are_distinct_never_the_key_and_their_ids_stable(toy):
    first = mutants_of("toy", TOY_KEY, _context(toy))
    again = mutants_of("toy", TOY_KEY, _context(toy))
    assert [m.id for m in first] == [m.id for m in again]
    assert len({m.sql for m in first}) == len(first) == len({m.id for m in first})
    key = mutants_of("toy", TOY_KEY.replace("amount <= 10", "amount <= 11"), _context(toy))
    assert {m.id for m in key} != {m.id for m in first}  # a changed key has mutants of its own
    plain = toy.execute(TOY_KEY).fetchall()
    assert all(m.sql.strip() != TOY_KEY.strip() for m in first)
    changed = [m for m in first if m.operator == "comparison"]
    assert any(toy.execute(m.sql).fetchall() != plain for m in changed)
    added = next(m for m in first if m.operator == "distinct")
    lines = diff(TOY_KEY, added)
    assert lines[:2] == ["- SELECT", "+ SELECT DISTINCT"] and lines[2].endswith("…"), lines  # where it is
    assert diff(TOY_KEY, changed[0])[0].startswith("- ") and diff(TOY_KEY, changed[0])[-1].startswith("+ ")


def test_the_final_order_is_dropped_only_where_the_question_asks_for_an_order(toy):
    unordered = {m.operator for m in mutants_of("toy", TOY_KEY, _context(toy, ordered=False))}
    assert "order-dropped" not in unordered


def test_unrolled_recursion_stops_at_its_depth(toy):
    key = ("with recursive chain as (select child as name from edges where parent = 'a' union "
           "select edges.child as name from edges inner join chain on edges.parent = chain.name) "
           "select * from chain")
    assert len(toy.execute(key).fetchall()) == 5
    unrolled = {m.operator: m for m in mutants_of("q", key, _context(toy)) if m.operator.startswith("unrolled")}
    assert {name: len(toy.execute(m.sql).fetchall()) for name, m in unrolled.items()} == {
        "unrolled-1": 1, "unrolled-2": 2, "unrolled-3": 3, "unrolled-4": 4}


def test_a_scalar_subquery_is_replaced_by_its_value_and_a_column_by_a_sibling_of_its_type(toy):
    key = "select name, (select max(amount) from items_table) as top from items_table where started < finished"
    mutants = mutants_of("q", key, _context(toy))
    typed = [m for m in mutants if m.operator == "typed-in-value"]
    assert len(typed) == 1 and "12 AS top" in typed[0].sql and "MAX" not in typed[0].sql
    siblings = [m.sql for m in mutants if m.operator == "sibling-column"]
    assert any("finished < finished" in s or "started < started" in s for s in siblings)  # a time for a time
    assert any("kind AS name" in s for s in siblings)  # a projection keeps its name
    assert not any("amount AS name" in s or "flag AS name" in s for s in siblings)  # only the same type


def test_a_condition_is_replaced_by_the_name_pattern_its_rows_share(toy):
    toy.execute("create table nodes (name varchar, folder varchar)")
    toy.execute("insert into nodes values ('stg_a', 'staging'), ('stg_b', 'staging'), ('fct_c', 'marts')")
    columns = {"main.nodes": {"name": "VARCHAR", "folder": "VARCHAR"}}
    ctx = KeyContext(columns=columns, rows_of=lambda sql: toy.execute(sql).fetchall())
    key = "select name from nodes where folder = 'staging'"
    patterns = [m.sql for m in mutants_of("q", key, ctx) if m.operator == "name-pattern"]
    assert len(patterns) == 1 and "name LIKE 'stg_%'" in patterns[0]
    assert toy.execute(patterns[0]).fetchall() == toy.execute(key).fetchall()  # the accident it stands for


def test_an_interval_without_a_finite_count_is_not_moved_but_the_rest_of_its_key_is():
    key = "select name from items_table where started > now() - interval 'infinity' day and amount <= 10"
    operators = [m.operator for m in mutants_of("q", key, KeyContext())]
    assert "interval" not in operators and "literal" in operators


def test_a_key_sqlglot_cannot_read_is_named():
    with pytest.raises(KeyParseError, match="grading/m/answer_key/q.sql"):
        mutants_of("q", "select from from where", KeyContext(), "grading/m/answer_key/q.sql")


def _analysis(*survivors: str, killed: int = 20) -> QuestionAnalysis:
    mutants = [Mutant("q", "comparison", "final", f"select {i}") for i in range(killed)]
    alive = [Mutant("q", "count", "final", sql) for sql in survivors]
    outcomes = {m.id: (KILLED, "stale") for m in mutants} | {m.id: (SURVIVED, "") for m in alive}
    return QuestionAnalysis("q", "select 1", mutants + alive, outcomes)


def test_every_survivor_must_be_declared_and_equivalents_stay_few():
    analysis = _analysis("select 'a'", "select 'b'")
    a, b = (m.id for m in analysis.survivors)
    assert standing(analysis, {}).undeclared == [a, b]
    assert standing(analysis, {a: "same", b: "same"}).ok  # 2 of 22: under 10%
    assert standing(analysis, {a: "same", "count@final#00000000": "gone"}).stale == ["count@final#00000000"]
    crowded = _analysis("select 'a'", "select 'b'", "select 'c'", killed=10)
    assert standing(crowded, {m.id: "same" for m in crowded.survivors}).too_many


def test_a_broken_equivalents_file_names_the_file(tmp_path, monkeypatch):
    (tmp_path / "grading" / "m").mkdir(parents=True)
    monkeypatch.setenv("INCIDENTLAB_ROOT", str(tmp_path))
    (tmp_path / "grading" / "m" / "equivalent_mutants.toml").write_text('[q]\n"count@final#1" = \n')
    with pytest.raises(IncidentLabError, match="grading/m/equivalent_mutants.toml"):
        read_equivalents("m")
    (tmp_path / "grading" / "m" / "equivalent_mutants.toml").write_text('[q]\n"count@final#1" = ""\n')
    with pytest.raises(IncidentLabError, match="one-line reason"):
        read_equivalents("m")
    (tmp_path / "grading" / "m" / "equivalent_mutants.toml").write_text('[qq]\n"count@final#1" = "same"\n')
    with pytest.raises(IncidentLabError, match=r"\[qq\] is not a question of m; known: q"):
        read_equivalents("m", ["q"])


def test_the_command_names_an_unknown_module_or_question_in_one_line(warehouses):
    for args in (["nosuch"], [module_names()[0], "--question", "nosuch"]):
        done = subprocess.run([sys.executable, "-m", "incidentlab.cli", "mutants", *args], capture_output=True,
                              text=True, env=os.environ | {"INCIDENTLAB_WAREHOUSES": str(warehouses)})
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "nosuch" in done.stderr


# -- every key's survivors ----------------------------------------------------------------------------------
def _gaps() -> dict[str, dict[str, list[str]]]:
    return tomllib.loads(GAPS.read_text(encoding="utf-8")) if GAPS.is_file() else {}


class KnownGap(AssertionError):
    """Every survivor of the question is a gap tests/mutant_gaps.toml lists (a variant must kill it)."""


def _cases():
    gaps = _gaps()
    for module in [m for m in module_names() if m in graded_modules()]:
        questions = [q.name for q in load(module)]
        for question in questions if EVERY_QUESTION else questions[:1]:
            listed = gaps.get(module, {}).get(question)
            marks = [pytest.mark.mutants]
            if listed:
                marks.append(pytest.mark.xfail(raises=KnownGap, strict=False,
                                               reason=f"{len(listed)} survivor(s) the data does not kill yet"))
            yield pytest.param(module, question, marks=marks, id=f"{module}-{question}")


_analyses: dict[tuple[str, str | None], object] = {}


def _analysed(module: str, question: str):
    """The whole module's analysis under make test-mutants (worker processes), one question's otherwise."""
    scope = None if EVERY_QUESTION else question
    if (module, scope) not in _analyses:
        _analyses[(module, scope)] = analyse(module, scope, workers=2 if EVERY_QUESTION else 1)
    return next(q for q in _analyses[(module, scope)].questions if q.question == question)


@pytest.mark.parametrize(("module", "question"), list(_cases()))
def test_every_survivor_is_killed_or_declared_equivalent(warehouses, module, question):
    analysis = _analysed(module, question)
    assert analysis.counted >= 5, f"{module}.{question}: only {analysis.counted} mutants ran"
    state = standing(analysis, read_equivalents(module, [q.name for q in load(module)]).get(question, {}))
    assert not state.stale and not state.too_many, state.problems()
    listed = set(_gaps().get(module, {}).get(question, []))
    unlisted = [i for i in state.undeclared if i not in listed]
    assert not unlisted, f"{module}.{question}: {state.problems()[0]}; run incidentlab mutants {module} " \
                         f"--question {question} for their changes"
    if state.undeclared:
        raise KnownGap(f"{module}.{question}: {len(state.undeclared)} listed survivor(s) still survive")
