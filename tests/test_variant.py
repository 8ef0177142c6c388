"""The variant warehouse: the same incident with dates shifted by 98 days, other amounts and counts."""

from __future__ import annotations

import datetime as dt

import pytest
from warehouse_copies import read_only

SHIFT = dt.timedelta(days=98)
KEYS = {"raw_customers": "customer_id", "raw_orders": "order_id", "raw_events": "event_id", "raw_pipeline_runs": "run_id"}


def rows_by_key(stage: str, variant: bool, table: str) -> dict:
    with read_only(stage, variant) as con:
        rel = con.sql(f"select * from raw.{table}")
        return {row[rel.columns.index(KEYS[table])]: dict(zip(rel.columns, row)) for row in rel.fetchall()}


def columns(stage: str, variant: bool) -> list[tuple]:
    with read_only(stage, variant) as con:
        return con.sql(
            "select table_schema, table_name, column_name, data_type from information_schema.columns order by all"
        ).fetchall()


@pytest.mark.parametrize("stage", ["stale", "fixed"])
def test_same_tables_and_columns(warehouses, stage):
    real = columns(stage, False)
    assert real == columns(stage, True)
    assert {(schema, table) for schema, table, *_ in real} >= {("raw", t) for t in KEYS}


@pytest.mark.parametrize("table", ["raw_customers", "raw_orders", "raw_events"])
def test_every_date_shifted_by_98_days(warehouses, table):
    real, variant = rows_by_key("stale", False, table), rows_by_key("stale", True, table)
    assert variant.keys() <= real.keys() and variant
    for key, row in variant.items():
        for column, value in row.items():
            if isinstance(value, (dt.date, dt.datetime)):
                assert value - real[key][column] == SHIFT, (table, key, column)


def test_known_rows_and_clock_shifted(warehouses):
    customers, runs = rows_by_key("stale", True, "raw_customers"), rows_by_key("stale", True, "raw_pipeline_runs")
    assert customers[1]["signup_date"] == dt.date(2024, 4, 9)  # Ava Martin, Jan 2 in the real scenario
    assert customers[28]["_loaded_at"] == dt.datetime(2024, 5, 19, 18, 5, 8)
    assert runs["run_001"]["run_date"] == dt.datetime(2024, 5, 6, 18, 11, 55)
    assert runs["run_012"]["run_date"] == dt.datetime(2024, 5, 17, 6, 0)
    real = rows_by_key("stale", False, "raw_pipeline_runs")
    assert all(runs[key]["run_date"] - real[key]["run_date"] == SHIFT for key in real)
    with read_only("stale", True) as con:
        assert con.sql("select scenario_now()").fetchone()[0] == dt.datetime(2024, 5, 20, 9, 0)


def test_amounts_and_counts_differ(warehouses):
    real, variant = rows_by_key("stale", False, "raw_orders"), rows_by_key("stale", True, "raw_orders")
    assert len(variant) != len(real)
    assert all(row["amount"] != real[key]["amount"] for key, row in variant.items())


def test_one_more_phantom_run(warehouses):
    def phantoms(variant: bool) -> list[str]:
        with read_only("stale", variant) as con:
            return [r for (r,) in con.sql("select run_id from stg_pipeline_runs where not includes_marts order by run_date").fetchall()]

    real, variant = phantoms(False), phantoms(True)
    assert len(variant) == len(real) + 1
    assert variant == ["run_011", *real]
