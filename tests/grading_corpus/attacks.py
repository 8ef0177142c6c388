"""Answers written to break the judge rather than to answer: one case per attack class on the SQL judge.

Each attack replaces the answers of a solved submission. ``honest(n)`` is a good submission whose answers are
texts no other submission has (so the judge runs them rather than reusing a verdict): graded right after an
attack in the same worker, it must score exactly as it does alone.
"""

from __future__ import annotations

from collections.abc import Callable

from grading_corpus.mutations import Case, _answers
from incidentlab.grading.answer_key import read_key

MODULE = "wt06_data_stale"
LOG = "select * from enable_logging('QueryLog', storage='file', storage_path='/nonexistent/rt'), " \
      "(select count(*) as n from raw.raw_orders)"
READ_LOG = "select error((select message from duckdb_logs order by timestamp desc limit 1)) as x from raw.raw_orders"
ECHO = "select error((select string_agg(run_id, ',') from stg_pipeline_runs)) as x from stg_pipeline_runs"
PROBE = "select case when (select count(*) from raw.raw_orders) = 47 then 1 else error('other version') end as x " \
        "from stg_orders"
# Fails only where the runs are not the stale warehouse's, with the runs' ids in the database's message.
CAST_LEAK = ("select count(*) as green_runs, count(*) as phantom_runs from stg_pipeline_runs where case when "
             "(select count(*) from stg_pipeline_runs) = (select count(*) from stg_pipeline_runs where run_id < 'zz') "
             "and (select min(run_id) from stg_pipeline_runs) = 'run_001' then true "
             "else cast('leak:' || (select string_agg(run_id, ',') from stg_pipeline_runs) as int) = 1 end")
LEVENSHTEIN = "select levenshtein(string_agg(run_id, ''), string_agg(run_id, '')) as x from stg_pipeline_runs"
SLOW = ("with recursive r as (select 1 as i union all select i + 1 from r where i < 100000000000)\n"
        "select count(*) as green_runs, count(*) as phantom_runs from stg_pipeline_runs, r")
HUGE_RESULT = ("with recursive r as (select 1 as i union all select i + 1 from r where i < 4000000)\n"
               "select r.i as green_runs, r.i as phantom_runs from r, stg_pipeline_runs")
HUGE_STRING = ("with recursive r as (select 1 as i union all select i + 1 from r where i < 200000)\n"
               "select string_agg(s.run_id, ',') as green_runs, 1 as phantom_runs from r, stg_pipeline_runs s")


def _every_answer(sql_for: Callable[[int, str], str]) -> Callable:
    """A mutation that writes ``sql_for(i, question)`` under each answer cell's first line."""
    def mutate(nb):
        for i, cell in enumerate(_answers(nb)):
            first = cell.source.lstrip().split("\n", 1)[0]
            cell.source = f"{first}\n{sql_for(i, first.split()[1].removeprefix('answer_'))}"
    return mutate


def _raw_cells(nb, count: int = 150_000) -> None:
    import nbformat

    nb.cells += [nbformat.NotebookNode(cell_type="raw", id=f"raw{i}", metadata={}, source="") for i in range(count)]


def honest(n: int) -> Case:
    from grading_corpus.tiny_course import ANSWERS

    return Case(_every_answer(lambda i, q: f"select * from (\n{ANSWERS[q]}\n) as honest_{n}"), "graded", "",
                full_marks=True)


ATTACKS: dict[str, Case] = {
    "enable_logging": Case(_every_answer(lambda i, q: LOG), "graded", "", zero=True),
    "log_leak": Case(_every_answer(lambda i, q: LOG if i == 0 else READ_LOG), "graded", "", zero=True),
    "error_echo": Case(_every_answer(lambda i, q: ECHO), "graded", "", zero=True),
    "version_probe": Case(_every_answer(lambda i, q: PROBE), "graded", "", zero=True),
    "cast_leak": Case(_every_answer(lambda i, q: CAST_LEAK), "graded", "", zero=True),
    "levenshtein": Case(_every_answer(lambda i, q: LEVENSHTEIN), "graded", "", zero=True),
    "slow": Case(_every_answer(lambda i, q: SLOW), "graded", "", zero=True),
    "huge_result": Case(_every_answer(lambda i, q: HUGE_RESULT), "graded", "", zero=True),
    "huge_string": Case(_every_answer(lambda i, q: HUGE_STRING), "graded", "", zero=True),
    "key_wrapped": Case(_every_answer(lambda i, q: f"select * from (\n{read_key(MODULE)[q]}\n) as mine"),
                        "graded, needs manual grading", "answer key word for word", zero=True),
    "raw_cells": Case(_raw_cells, "partial", "cells; a notebook of this course has at most", zero=True),
}
