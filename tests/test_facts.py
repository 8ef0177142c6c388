"""The scenario's facts, read back from the built stale warehouse: a drifting dataset or model fails here."""

from __future__ import annotations

import datetime as dt

import pytest
from warehouse_copies import read_only


def FEB(day: int) -> dt.date:
    return dt.date(2024, 2, day)


WEEKEND = (FEB(9), FEB(10), FEB(11))


@pytest.fixture(scope="module")
def con(warehouses):
    connection = read_only("stale")
    yield connection
    connection.close()


def one(con, sql: str, *params):
    return con.execute(sql, list(params)).fetchone()


def runs(con) -> dict[str, dict]:
    rel = con.sql("select * from stg_pipeline_runs order by run_date")
    return {row[0]: dict(zip(rel.columns, row)) for row in rel.fetchall()}


# -- raw data: what the seeds describe through Feb 8, and the weekend push on top ----------------------

@pytest.mark.parametrize(
    ("table", "date_column", "expected"),
    [("raw_orders", "order_date", 32), ("raw_events", "event_date", 40), ("raw_customers", "signup_date", 20)],
)
def test_seed_counts_through_feb_8(con, table, date_column, expected):
    count, first = one(con, f"select count(*), min({date_column}) from raw.{table} where {date_column} <= ?", FEB(8))
    assert count == expected
    assert first >= dt.date(2024, 1, 1)


@pytest.mark.parametrize(
    ("table", "date_column", "where"),
    [
        ("raw_orders", "order_date", "true"),
        ("raw_events", "event_date", "true"),
        ("raw_events", "event_date", "event_type = 'signup'"),
        ("raw_customers", "signup_date", "true"),
    ],
)
def test_weekend_rows_on_each_day_and_none_after(con, table, date_column, where):
    query = f"select distinct {date_column} from raw.{table} where {where} and {date_column} > ?"
    days = {d for (d,) in con.execute(query, [FEB(8)]).fetchall()}
    assert days == set(WEEKEND)


def test_weekend_push_counts(con):
    # notebooks/wt06_data_stale/README.md quotes these: 15 orders, 19 events, 8 signups on Feb 9-11.
    orders = one(con, "select count(*) from raw.raw_orders where order_date between ? and ?", FEB(9), FEB(11))[0]
    events = one(con, "select count(*) from raw.raw_events where event_date between ? and ?", FEB(9), FEB(11))[0]
    signups = one(con, "select count(*) from raw.raw_customers where signup_date between ? and ?", FEB(9), FEB(11))[0]
    assert (orders, events, signups) == (15, 19, 8)


# -- the audit log ------------------------------------------------------------------------------------

def test_fifteen_runs_all_green(con):
    log = runs(con)
    assert list(log) == [f"run_{i:03d}" for i in range(1, 16)]
    assert {(r["status"], r["exit_code"]) for r in log.values()} == {("success", 0)}


def test_full_runs_until_run_011(con):
    full = [r for r in runs(con).values() if r["run_id"] <= "run_011"]
    assert len(full) == 11
    assert all(r["models_run"] == "all" and r["includes_marts"] for r in full)
    assert all(140 <= r["duration_seconds"] <= 150 for r in full)


def test_run_011_finishes_at_18_15(con):
    assert runs(con)["run_011"]["finished_at"] == dt.datetime(2024, 2, 8, 18, 15)
    # the same from raw, computed in SQL rather than by the staging view
    ended = one(con, "select run_date + to_seconds(duration_seconds) from raw.raw_pipeline_runs "
                     "where run_id = 'run_011'")[0]
    assert ended == dt.datetime(2024, 2, 8, 18, 15)


def test_staging_only_runs_from_run_012(con):
    log = runs(con)
    assert log["run_012"]["run_date"] == dt.datetime(2024, 2, 9, 6, 0)
    assert log["run_012"]["duration_seconds"] == 41
    phantom = [r for r in log.values() if r["run_id"] >= "run_012"]
    assert [r["run_id"] for r in phantom] == ["run_012", "run_013", "run_014", "run_015"]
    assert all(r["models_run"] == "staging.*" and not r["includes_marts"] for r in phantom)
    assert all(35 <= r["duration_seconds"] <= 45 for r in phantom)


def test_run_012_duration_against_trailing_average(con):
    run = runs(con)["run_012"]
    assert run["trailing_avg_duration_7d"] == pytest.approx(145, abs=1)
    assert round(run["duration_ratio"], 2) == 0.28
    # the trailing window is the 7 runs before it (run_005-run_011), recomputed from raw
    raw_avg = one(con, "select avg(duration_seconds) from raw.raw_pipeline_runs "
                       "where run_id between 'run_005' and 'run_011'")[0]
    assert run["trailing_avg_duration_7d"] == pytest.approx(raw_avg)


# -- the weekend push ---------------------------------------------------------------------------------

def test_weekend_revenue_beats_the_week_before(con):
    weekend, week_before = one(
        con,
        """
        with kept as (select * from stg_orders where status != 'returned')
        select
            sum(amount) filter (where order_date between ? and ?) / 3,
            sum(amount) filter (where order_date between ? and ?) / 7
        from kept
        """,
        FEB(9), FEB(11), FEB(2), FEB(8),
    )
    assert weekend > week_before > 0


def test_weekend_signups_beat_every_earlier_three_days(con):
    weekend, best_earlier = one(
        con,
        """
        with days as (
            select range::date as day from range(date '2024-01-01', date '2024-02-12', interval 1 day)
        ),
        signups as (
            select event_date as day, count(*) as signups from stg_events where event_type = 'signup' group by 1
        ),
        windows as (
            select days.day, sum(coalesce(signups.signups, 0)) over (
                order by days.day rows between 2 preceding and current row
            ) as three_days
            from days left join signups using (day)
        )
        select
            max(three_days) filter (where day = ?),
            max(three_days) filter (where day < ?)
        from windows
        """,
        FEB(11), FEB(11),
    )
    assert weekend == 8
    assert weekend > best_earlier


# -- the clock and the frozen marts -------------------------------------------------------------------

def test_scenario_now(con):
    assert one(con, "select scenario_now()")[0] == dt.datetime(2024, 2, 12, 9, 0)


@pytest.mark.parametrize("mart", ["fct_revenue_daily", "fct_daily_signups"])
def test_marts_were_last_refreshed_by_run_011(con, mart):
    refreshed = one(con, f"select min(updated_at), max(updated_at) from {mart}")
    assert refreshed == (runs(con)["run_011"]["run_date"],) * 2
