"""Stale and fixed warehouses, and what dbt says about each on a private copy, with the scenario's clock."""

from __future__ import annotations

import datetime as dt

import pytest
from warehouse_copies import copy_of, dbt, read_only, scenario_now, statuses

FEB_8, FEB_11 = dt.date(2024, 2, 8), dt.date(2024, 2, 11)
MARTS = {"fct_revenue_daily": "order_date", "fct_daily_signups": "signup_date"}
STAGING = {"stg_orders": "order_date", "stg_events": "event_date"}
DASHBOARD = {f"source.acme.dashboard.{mart}" for mart in MARTS}
ASSERT_FRESHNESS = "test.acme.assert_freshness"


def max_dates(stage: str, models: dict[str, str]) -> dict[str, dt.date]:
    with read_only(stage) as con:
        return {model: con.sql(f"select max({column}) from {model}").fetchone()[0] for model, column in models.items()}


@pytest.mark.parametrize(("stage", "mart_date"), [("stale", FEB_8), ("fixed", FEB_11)])
def test_max_dates(warehouses, stage, mart_date):
    assert max_dates(stage, MARTS) == dict.fromkeys(MARTS, mart_date)
    assert max_dates(stage, STAGING) == dict.fromkeys(STAGING, FEB_11)


def test_fixed_marts_were_refreshed_at_scenario_now(warehouses):
    with read_only("fixed") as con:
        for mart in MARTS:
            assert con.sql(f"select min(updated_at), max(updated_at) from {mart}").fetchone() == (scenario_now(),) * 2


# -- dbt on a copy ------------------------------------------------------------------------------------

@pytest.fixture
def stale(warehouses, tmp_path):
    return copy_of("stale", tmp_path / "stale")


@pytest.fixture
def fixed(warehouses, tmp_path):
    return copy_of("fixed", tmp_path / "fixed")


def test_source_freshness_errors_on_the_dashboard_in_stale(stale):
    result = dbt(["source", "freshness"], stale)
    assert not result.success
    errors = {uid for uid, status in statuses(result).items() if status == "error"}
    assert errors == DASHBOARD  # raw data was never late: only what the dashboard reads is


def test_source_freshness_passes_in_fixed(fixed):
    result = dbt(["source", "freshness"], fixed)
    assert result.success
    assert set(statuses(result).values()) == {"pass"}


def test_assert_freshness_fails_in_stale(stale):
    result = dbt(["test", "--select", "assert_freshness"], stale)
    assert not result.success
    [node] = result.result.results
    assert (node.node.unique_id, str(node.status), node.failures) == (ASSERT_FRESHNESS, "fail", 2)


def test_assert_freshness_passes_in_fixed(fixed):
    result = dbt(["test", "--select", "assert_freshness"], fixed)
    assert result.success
    assert statuses(result) == {ASSERT_FRESHNESS: "pass"}


def test_staging_selector_selects_no_mart(stale):
    result = dbt(["ls", "--select", "staging.*", "--resource-type", "model"], stale)
    assert sorted(result.result) == ["acme.staging.stg_events", "acme.staging.stg_orders",
                                     "acme.staging.stg_pipeline_runs"]
    assert not any(mart in name for name in result.result for mart in MARTS)


@pytest.mark.slow
def test_full_build_is_green_in_fixed(fixed):
    result = dbt(["build"], fixed)
    assert result.success
    ran = statuses(result)
    # dashboards are dbt exposures: `dbt build` lists them, with nothing to run
    assert {status for node, status in ran.items() if not node.startswith("exposure.")} <= {"success", "pass"}
    assert {status for node, status in ran.items() if node.startswith("exposure.")} <= {"no-op"}
    assert ASSERT_FRESHNESS in ran
    assert {f"model.acme.{mart}" for mart in MARTS} <= set(ran)


def test_staging_build_is_green_in_stale_and_never_checks_freshness(stale):
    # the incident's blind spot: the job that left the marts behind runs no test that would have noticed
    result = dbt(["build", "--select", "staging.*"], stale)
    assert result.success
    ran = statuses(result)
    assert set(ran.values()) <= {"success", "pass"}
    assert ASSERT_FRESHNESS not in ran
    assert not any(uid.startswith(f"model.acme.{mart}") for uid in ran for mart in MARTS)


# -- the clock: nothing depends on today --------------------------------------------------------------

def expected_ages(stage: str) -> dict[str, float]:
    """Seconds from each source's latest load to scenario_now(), computed in SQL on the warehouse."""
    sources = {f"source.acme.acme.{t}": f"raw.{t}" for t in ("raw_orders", "raw_events", "raw_customers")}
    sources.update({f"source.acme.dashboard.{mart}": mart for mart in MARTS})
    with read_only(stage) as con:
        return {
            uid: con.sql(
                f"select epoch(scenario_now() - max({'updated_at' if 'dashboard' in uid else '_loaded_at'})) "
                f"from {table}"
            ).fetchone()[0]
            for uid, table in sources.items()
        }


def test_freshness_ages_are_measured_from_scenario_now(stale):
    result = dbt(["source", "freshness"], stale)
    ages = {node.node.unique_id: node.age for node in result.result.results}
    assert ages == pytest.approx(expected_ages("stale"))
    assert {node.snapshotted_at.replace(tzinfo=None) for node in result.result.results} == {scenario_now()}
    # the walkthrough's "how stale at 09:00 Monday": since run_011's refresh
    assert round(ages["source.acme.dashboard.fct_revenue_daily"] / 3600, 1) == 86.8


def test_another_now_sees_the_marts_fresh(stale):
    friday_morning = dt.datetime(2024, 2, 9, 6, 0)  # when run_012 started, 11.8 h after run_011's refresh
    result = dbt(["source", "freshness"], stale, now=friday_morning)
    assert result.success
    dashboard = {uid: status for uid, status in statuses(result).items() if uid in DASHBOARD}
    assert dashboard == dict.fromkeys(DASHBOARD, "pass")
    assert dbt(["test", "--select", "assert_freshness"], stale, now=friday_morning).success
