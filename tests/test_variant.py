"""The variant warehouses: each is the same incident replayed from other data, with the features it claims."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from warehouse_copies import MODULE, read_only

from incidentlab.accidents import break_accidents
from incidentlab.build import replay_steps
from incidentlab.datasets import (
    load_scenario,
    module_names,
    stage_names,
    variant_description,
    variant_names,
    variant_spec,
)
from incidentlab.errors import DatasetError
from incidentlab.paths import hidden_variants_path, project_root, warehouse_path
from incidentlab.variant import make_variant

VARIANTS = variant_names(MODULE, hidden=False)
SHIFT = dt.timedelta(days=98)
KEYS = {"raw_customers": "customer_id", "raw_orders": "order_id", "raw_events": "event_id",
        "raw_pipeline_runs": "run_id"}
MARTS = {  # mart -> its date column, and the latest date of the same thing in staging
    "fct_revenue_daily": ("order_date", "select max(order_date) from stg_orders where status != 'returned'"),
    "fct_daily_signups": ("signup_date", "select max(event_date) from stg_events where event_type = 'signup'"),
}


def rows_by_key(stage: str, variant: str | None, table: str) -> dict:
    with read_only(stage, variant) as con:
        rel = con.sql(f"select * from raw.{table}")
        return {row[rel.columns.index(KEYS[table])]: dict(zip(rel.columns, row)) for row in rel.fetchall()}


def relations(stage: str, variant: str | None) -> set[tuple]:
    with read_only(stage, variant) as con:
        return set(con.sql(
            "select table_schema, table_name, column_name, data_type from information_schema.columns"
        ).fetchall())


def runs(variant: str | None) -> list[dict]:
    with read_only("stale", variant) as con:
        rel = con.sql("select * from stg_pipeline_runs order by run_date")
        return [dict(zip(rel.columns, row)) for row in rel.fetchall()]


def scalar(stage: str, variant: str | None, sql: str):
    with read_only(stage, variant) as con:
        return con.sql(sql).fetchone()[0]


def scenario(variant: str):
    return make_variant(load_scenario(MODULE), variant)


def test_the_named_variants():
    assert VARIANTS == ["shifted", "messy_runs", "mart_gaps", "edge_runs"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_description_states_no_value(variant):
    description = variant_description(MODULE, variant)
    assert description and not re.search(r"\d", description)


# -- every variant is the same incident -------------------------------------------------------------

@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("stage", stage_names(MODULE))
def test_same_tables_and_columns_or_more(warehouses, stage, variant):
    real, other = relations(stage, None), relations(stage, variant)
    assert real <= other
    assert {r for r in real if r[0] == "raw"} == {r for r in other if r[0] == "raw"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_marts_stop_and_later_runs_are_staging_only(warehouses, variant):
    log = runs(variant)
    last_good = max(i for i, run in enumerate(log) if run["includes_marts"])
    after = log[last_good + 1:]
    assert len(after) >= 4
    assert {run["models_run"] for run in after} == {"staging.*"}
    # the marts hold nothing the later runs brought: staging is days ahead of both
    for mart, (day, staging_max) in MARTS.items():
        assert scalar("stale", variant, f"select max(updated_at) from {mart}") <= log[last_good]["run_date"]
        assert scalar("stale", variant, f"select ({staging_max}) - max({day}) from {mart}") >= 3, mart


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_fix_brings_the_marts_up_to_staging_at_its_time(warehouses, variant):
    steps = [moment for moment, _ in scenario(variant).remediation_steps()]
    assert steps[-1] == scenario(variant).fixed_at <= scalar("fixed", variant, "select scenario_now()")
    for mart, (day, staging_max) in MARTS.items():
        refreshed = scalar("fixed", variant, f"select max(updated_at) from {mart}")
        assert refreshed in steps, mart
        # staging as it stood then: a row that landed after the fix is not in the mart
        landed = f"{staging_max} and loaded_at <= timestamp '{refreshed}'"
        assert scalar("fixed", variant, f"select max({day}) = ({landed}) from {mart}"), mart


@pytest.mark.parametrize("variant", VARIANTS)
def test_dates_move_by_whole_weeks_and_amounts_differ(warehouses, variant):
    moved = scalar("stale", variant, "select scenario_now()") - scalar("stale", None, "select scenario_now()")
    assert moved.days % 7 == 0 and moved.days != 0 and moved.seconds == 0
    real, other = rows_by_key("stale", None, "raw_orders"), rows_by_key("stale", variant, "raw_orders")
    assert other.keys() <= real.keys() and other
    assert all(row["amount"] != real[key]["amount"] for key, row in other.items())
    assert all(row["order_date"] - real[key]["order_date"] == moved for key, row in other.items())


def test_the_variants_differ_from_each_other(warehouses):
    clocks = [scalar("stale", variant, "select scenario_now()") for variant in (None, *VARIANTS)]
    assert len(set(clocks)) == len(clocks)


# -- shifted: 98 days later, fewer rows, other amounts, one more phantom run ------------------------

@pytest.mark.parametrize("table", ["raw_customers", "raw_orders", "raw_events"])
def test_shifted_every_date_moves_98_days(warehouses, table):
    real, variant = rows_by_key("stale", None, table), rows_by_key("stale", "shifted", table)
    assert variant.keys() <= real.keys() and variant
    for key, row in variant.items():
        for column, value in row.items():
            if isinstance(value, (dt.date, dt.datetime)):
                assert value - real[key][column] == SHIFT, (table, key, column)


def test_shifted_known_rows_and_clock(warehouses):
    customers = rows_by_key("stale", "shifted", "raw_customers")
    log = rows_by_key("stale", "shifted", "raw_pipeline_runs")
    assert customers[1]["signup_date"] == dt.date(2024, 4, 9)  # Ava Martin, Jan 2 in the real scenario
    assert customers[28]["_loaded_at"] == dt.datetime(2024, 5, 19, 18, 5, 8)
    assert log["run_001"]["run_date"] == dt.datetime(2024, 5, 6, 18, 11, 55)
    assert log["run_012"]["run_date"] == dt.datetime(2024, 5, 17, 6, 0)
    real = rows_by_key("stale", None, "raw_pipeline_runs")
    assert all(log[key]["run_date"] - real[key]["run_date"] == SHIFT for key in real)
    assert scalar("stale", "shifted", "select scenario_now()") == dt.datetime(2024, 5, 20, 9, 0)


def test_shifted_has_fewer_orders(warehouses):
    assert len(rows_by_key("stale", "shifted", "raw_orders")) < len(rows_by_key("stale", None, "raw_orders"))


def test_shifted_has_one_more_phantom_run(warehouses):
    def phantoms(variant: str | None) -> list[str]:
        return [run["run_id"] for run in runs(variant) if not run["includes_marts"]]

    real, variant = phantoms(None), phantoms("shifted")
    assert variant == ["run_011", *real]


def test_shifted_latest_order_day_has_returned_orders_only(warehouses):
    assert scalar("stale", "shifted", """
        select bool_and(status = 'returned') from stg_orders
        where order_date = (select max(order_date) from stg_orders)""")


def test_shifted_first_phantom_ratio_changes_if_the_average_is_rounded_first(warehouses):
    first = next(run for run in runs("shifted") if not run["includes_marts"])
    duration, average = first["duration_seconds"], first["trailing_avg_duration_7d"]
    assert round(duration / average, 2) != round(duration / round(average, 1), 2)


# -- messy_runs: failures, ids out of order, per-table load times, one mart alone, an earlier fix ----

def test_messy_runs_has_failed_and_mismatched_runs(warehouses):
    log = runs("messy_runs")
    outcomes = {(run["status"], run["exit_code"]) for run in log}
    assert {("success", 0), ("error", 1), ("success", 2), ("error", 0)} <= outcomes
    last_good = max(i for i, run in enumerate(log) if run["includes_marts"])
    healthy, incident = log[:last_good + 1], log[last_good + 1:]
    failed_full = next(i for i, run in enumerate(healthy) if run["status"] == "error" and run["models_run"] == "all")
    retry = log[failed_full + 1]
    assert (retry["status"], retry["exit_code"], retry["models_run"]) == ("success", 0, "all")
    assert retry["run_date"].date() == log[failed_full]["run_date"].date()
    assert any(run["status"] == "error" and run["exit_code"] != 0 for run in incident)


def test_messy_runs_failed_runs_are_not_replayed():
    variant = scenario("messy_runs")
    failed = {run["run_id"] for run in variant.runs() if run["status"] != "success" and run["exit_code"] != 0}
    replayed = {label for label, _, _ in replay_steps(variant, "stale")}
    assert len(failed) == 3 and not failed & replayed
    assert replayed | failed == {run["run_id"] for run in variant.runs()}


def test_messy_runs_ids_are_out_of_time_order(warehouses):
    log = runs("messy_runs")
    by_date = [run["run_id"] for run in log]
    assert by_date != sorted(by_date)
    assert by_date[0] != min(by_date) and by_date[-1] != max(by_date)
    first_phantom = next(run["run_id"] for run in log if not run["includes_marts"])
    assert first_phantom != min(run["run_id"] for run in log if not run["includes_marts"])


def test_messy_runs_raw_tables_land_at_different_times(warehouses):
    def last_loads(variant: str | None) -> list[dt.datetime]:
        return [scalar("stale", variant, f"select max(_loaded_at) from raw.{table}")
                for table in ("raw_orders", "raw_events", "raw_customers")]

    assert len(set(last_loads(None))) == 1
    assert len(set(last_loads("messy_runs"))) == 3


def test_messy_runs_one_mart_refreshed_alone(warehouses):
    refreshed = {mart: scalar("stale", "messy_runs", f"select max(updated_at) from {mart}")
                 for mart in ("fct_revenue_daily", "fct_daily_signups")}
    assert refreshed["fct_daily_signups"] > refreshed["fct_revenue_daily"]
    alone = [run for run in runs("messy_runs") if run["run_date"] == refreshed["fct_daily_signups"]]
    assert [(run["models_run"], run["includes_marts"]) for run in alone] == [("marts.fct_daily_signups", True)]


def test_messy_runs_first_phantom_failed_and_last_full_run_failed_after_building(warehouses):
    log = runs("messy_runs")
    first_phantom = next(run for run in log if not run["includes_marts"])
    assert (first_phantom["status"], first_phantom["exit_code"]) == ("error", 1)
    last_full = [run for run in log if run["models_run"] == "all"][-1]
    assert (last_full["status"], last_full["exit_code"]) == ("error", 0)
    assert scalar("stale", "messy_runs", "select max(updated_at) from fct_revenue_daily") == last_full["run_date"]


def missing_days(stage: str, variant: str, staging: str, mart: str) -> dict[dt.date, tuple[int, int]]:
    """day -> (rows in staging, rows in the mart) for the days whose counts differ."""
    with read_only(stage, variant) as con:
        return {day: (ours, theirs) for day, ours, theirs in con.sql(f"""
            with staging as ({staging}), mart as ({mart})
            select day, staging.n, coalesce(mart.n, 0) from staging left join mart using (day)
            where staging.n != coalesce(mart.n, 0)""").fetchall()}


def test_messy_runs_rows_land_late(warehouses):
    orders = missing_days(
        "stale", "messy_runs",
        "select order_date as day, count(*) as n from stg_orders where status != 'returned' group by 1",
        "select order_date as day, order_count as n from fct_revenue_daily")
    signups = missing_days(
        "stale", "messy_runs",
        "select event_date as day, count(*) as n from stg_events where event_type = 'signup' group by 1",
        "select signup_date as day, signups as n from fct_daily_signups")
    for late, mart in [(orders, "fct_revenue_daily"), (signups, "fct_daily_signups")]:
        last = scalar("stale", "messy_runs", f"select max({MARTS[mart][0]}) from {mart}")
        assert any(day < last and counts[1] == 0 for day, counts in late.items()), f"{mart}: a day missing inside"
        assert any(counts[1] > 0 for counts in late.values()), f"{mart}: a day with fewer rows than staging"
    # the last day's orders landed after the fix: the fixed revenue mart still lacks that day
    assert scalar("fixed", "messy_runs",
                  "select max(order_date) < (select max(order_date) from stg_orders) from fct_revenue_daily")


def test_messy_runs_a_customer_signed_up_twice_on_a_missing_day(warehouses):
    twice = scalar("stale", "messy_runs", """
        select count(*) from (
            select event_date, customer_id from stg_events where event_type = 'signup'
            group by all having count(*) > 1)
        where event_date not in (select signup_date from fct_daily_signups)""")
    assert twice == 1


def test_messy_runs_raw_event_types_are_not_all_lower_case(warehouses):
    raw = scalar("stale", "messy_runs", "select max(event_date) from raw.raw_events where event_type = 'signup'")
    staged = scalar("stale", "messy_runs", "select max(event_date) from stg_events where event_type = 'signup'")
    assert raw < staged


@pytest.mark.parametrize("variant", ["messy_runs", "mart_gaps"])
def test_fix_ran_hours_before_now(warehouses, variant):
    hours = scalar("fixed", variant, "select epoch(scenario_now() - max(updated_at)) / 3600 from fct_revenue_daily")
    assert hours >= 0.5
    assert scalar("fixed", None, "select scenario_now() - max(updated_at) from fct_revenue_daily") == dt.timedelta(0)


# -- mart_gaps: days without orders or signups in the incident window, a dbt project with more ------

def window_days(variant: str) -> list[dt.date]:
    start = scalar("stale", variant, "select max(order_date) from fct_revenue_daily") + dt.timedelta(days=1)
    end = scalar("stale", variant, "select max(order_date) from stg_orders")
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def days(variant: str, sql: str) -> set[dt.date]:
    with read_only("stale", variant) as con:
        return {day for (day,) in con.sql(sql).fetchall()}


def not_contiguous(found: set[dt.date]) -> bool:
    return (max(found) - min(found)).days + 1 > len(found)


def test_mart_gaps_incident_window_has_gaps(warehouses):
    window = set(window_days("mart_gaps"))
    ordered = days("mart_gaps", "select order_date from stg_orders")
    kept = days("mart_gaps", "select order_date from stg_orders where status != 'returned'")
    signups = days("mart_gaps", "select event_date from stg_events where event_type = 'signup'")
    assert window - ordered, "a day without orders"
    assert (window & ordered) - kept, "a day with returned orders only"
    assert window - signups, "a day without signups"
    missing_revenue = (kept & window) - days("mart_gaps", "select order_date from fct_revenue_daily")
    missing_signups = (signups & window) - days("mart_gaps", "select signup_date from fct_daily_signups")
    assert len(missing_revenue) >= 3 and not_contiguous(missing_revenue)
    assert len(missing_signups) >= 3 and not_contiguous(missing_signups)


@pytest.mark.parametrize("stage", stage_names(MODULE))
def test_mart_gaps_latest_event_day_has_no_signup(warehouses, stage):
    assert scalar(stage, "mart_gaps", """
        select max(event_date) > max(event_date) filter (where event_type = 'signup') from stg_events""")


def test_mart_gaps_fix_rebuilt_one_mart_after_the_other(warehouses):
    signups, revenue = (scalar("fixed", "mart_gaps", f"select max(updated_at) from {mart}")
                        for mart in ("fct_daily_signups", "fct_revenue_daily"))
    assert signups < revenue == scenario("mart_gaps").fixed_at


@pytest.mark.parametrize("stage", stage_names(MODULE))
def test_mart_gaps_has_more_marts_and_tests(warehouses, stage):
    def graph(variant: str | None, sql: str) -> set:
        with read_only(stage, variant) as con:
            return set(con.sql(sql).fetchall())

    marts = "select name from dbt_graph.nodes where resource_type = 'model' and folder = 'marts'"
    mart_tests = """
        select distinct e.child from dbt_graph.edges as e
        join dbt_graph.nodes as parent on parent.name = e.parent and parent.folder = 'marts'
        join dbt_graph.nodes as child on child.name = e.child and child.resource_type = 'test'"""
    new_marts = graph("mart_gaps", marts) - graph(None, marts)
    new_tests = {name for (name,) in graph("mart_gaps", mart_tests) - graph(None, mart_tests)}
    assert new_marts == {("rpt_returns_daily",), ("fct_revenue_weekly",)}  # one not named fct_*
    assert {"unique_rpt_returns_daily_order_date", "not_null_rpt_returns_daily_order_date",
            "assert_revenue_positive", "assert_revenue_matches_orders"} <= new_tests
    for mart in ("rpt_returns_daily", "fct_revenue_weekly"):
        assert graph("mart_gaps", f"select materialized from dbt_graph.nodes where name = '{mart}'") == {("table",)}
        assert scalar(stage, "mart_gaps", f"select count(*) from main.{mart}") > 0
    selections = "select selector, name from dbt_graph.selections"
    assert ("marts.*", "rpt_returns_daily") in graph("mart_gaps", selections) - graph(None, selections)
    # a mart built from a mart, a test of the dashboard's source, a test of a mart that staging.* selects
    parents = "select parent from dbt_graph.edges where child = '{}'"
    assert graph("mart_gaps", parents.format("fct_revenue_weekly")) == {("fct_revenue_daily",)}
    assert graph("mart_gaps", parents.format("source_not_null_dashboard_fct_revenue_daily_updated_at")) == {
        ("dashboard.fct_revenue_daily",)}
    assert graph("mart_gaps", parents.format("assert_revenue_matches_orders")) == {
        ("fct_revenue_daily",), ("stg_orders",)}
    assert ("staging.*", "assert_revenue_matches_orders") in graph("mart_gaps", selections)


def test_the_project_itself_has_no_variant_files():
    for name in ("rpt_returns_daily", "fct_revenue_weekly", "assert_revenue_matches_orders"):
        assert not list((project_root() / "dbt" / MODULE).rglob(f"{name}*"))


# -- edge_runs: slower runs, and runs that skipped the marts before the incident -------------------------

def healthy_runs() -> list[dict]:
    """The edge_runs log up to its last run that reached the marts."""
    log = runs("edge_runs")
    return log[:max(i for i, run in enumerate(log) if run["includes_marts"]) + 1]


def test_edge_runs_durations_are_doubled(warehouses):
    real = rows_by_key("stale", None, "raw_pipeline_runs")
    variant = rows_by_key("stale", "edge_runs", "raw_pipeline_runs")
    full = [key for key, run in variant.items() if key in real and run["models_run"] == "all"]
    assert len(full) == 10
    assert all(variant[key]["duration_seconds"] == 2 * real[key]["duration_seconds"] for key in full)


def test_edge_runs_first_run_skipped_the_marts_with_nothing_before_it(warehouses):
    first, *later = healthy_runs()
    assert (first["models_run"], first["trailing_avg_duration_7d"]) == ("staging.*", None)
    assert any(not run["includes_marts"] for run in later)


def test_edge_runs_late_run_at_the_freshness_edge(warehouses):
    """A run ends over 25 h after the start of the last refresh, under 25 h after its end, in the same clock hour."""
    log = healthy_runs()
    gaps = []
    for i, run in enumerate(log):
        refresh = next((r for r in reversed(log[:i + 1]) if r["includes_marts"]), None)
        if refresh and run["finished_at"] - refresh["run_date"] > dt.timedelta(hours=25):
            gaps.append((run, refresh))
    [(run, refresh)] = gaps
    assert run["finished_at"] - refresh["finished_at"] < dt.timedelta(hours=25)
    assert run["finished_at"].hour == (refresh["run_date"] + dt.timedelta(hours=25)).hour
    assert log[-1]["run_date"] > run["run_date"]


def test_edge_runs_single_model_runs_at_half_their_baseline(warehouses):
    with read_only("stale", "edge_runs") as con:
        ratios = [ratio for (ratio,) in con.sql("""
            with baselines as (
                select *, avg(case when includes_marts then duration_seconds end) over (
                    order by run_date range between interval 7 days preceding and current row exclude current row
                ) as baseline
                from stg_pipeline_runs
            )
            select duration_seconds / baseline from baselines
            where models_run not in ('all', 'staging.*') and not includes_marts order by run_date""").fetchall()]
    assert ratios[0] == 0.5
    assert 0.495 <= ratios[1] < 0.5


# -- hidden variants: each declared accident of a module's data is broken ------------------------------------

HIDDEN = [(module, name) for module in module_names()
          for name in sorted(set(variant_names(module)) - set(variant_names(module, hidden=False)))]


def test_every_module_has_a_hidden_variant_or_none_declared():
    """A hidden variant is declared on the instructor's side only: never in datasets/, which students read."""
    for module in module_names():
        manifest = tomllib.loads((project_root() / "datasets" / module / "scenario.toml").read_text())
        assert not any({"accidents", "hidden"} & set(v) for v in manifest.get("variants", []))
    assert {("wt05_fan_out", "accidents"), ("wt06_data_stale", "accidents")} <= set(HIDDEN)
    assert all(hidden_variants_path(module).is_file() for module, _ in HIDDEN)


@pytest.mark.parametrize("module, name", HIDDEN)
def test_hidden_description_states_no_value(module, name):
    assert not re.search(r"\d", variant_description(module, name))


def _tables(module: str, name: str) -> dict:
    return make_variant(load_scenario(module), name).tables


def _spec(module: str, name: str) -> dict:
    return variant_spec(load_scenario(module).variants, name, module)


def _column(table, column: str) -> list:
    return [row[table.index(column)] for row in table.rows]


def _broken(kind: str, tables: dict, plain: dict, a: dict) -> bool:
    """Whether the data of ``tables`` (after the breaks; ``plain`` before them) breaks accident ``a``."""
    if kind in ("childless", "orphans", "late_children"):
        parents, kids = tables[a["parent"]], tables[a["child"]]
        parent_keys, kid_keys = set(_column(parents, a["key"])), set(_column(kids, a["key"]))
        if kind == "childless":
            return bool(parent_keys - kid_keys)
        if kind == "orphans":
            return bool(kid_keys - parent_keys)
        landed = dict(zip(_column(parents, a["key"]), _column(parents, "_loaded_at")))
        return any(at > landed.get(key, at) for key, at in zip(_column(kids, a["key"]), _column(kids, "_loaded_at")))
    if kind == "mixed_case":
        return any(isinstance(v, str) and v != v.lower() for v in _column(tables[a["table"]], a["column"]))
    if kind == "cent_boundary":
        table, before = tables[a["table"]], plain[a["table"]]
        key = table.primary_key
        old = dict(zip(_column(before, key), _column(before, a["column"])))
        moves = {old[k] - v for k, v in zip(_column(table, key), _column(table, a["column"])) if k in old}
        return {-Decimal(str(a["by"])), Decimal(str(a["by"]))} <= moves
    if kind == "gaps":
        days = sorted(set(_column(tables[a["table"]], a["date"])))
        return any((later - earlier).days > 1 for earlier, later in zip(days, days[1:]))
    if kind == "duplicates":
        keys = _column(tables[a["table"]], tables[a["table"]].primary_key)
        return len(keys) > len(set(keys))
    if kind == "moved_copy":
        copy = {**a["match"], **a.get("set", {})}  # what the copied row holds

        def matching(table):
            return sum(all(row[table.index(c)] == v for c, v in copy.items()) for row in table.rows)
        copied = matching(tables[a["table"]]) > matching(plain[a["table"]])
        if a.get("at") is None:
            return copied
        starts = set(_column(tables[a["runs"]], a["start"]))
        moments = _column(tables[a["table"]], a["time"])
        edge = dt.timedelta(seconds=a.get("offset_seconds", 0))
        return copied and any(moment - edge in starts for moment in moments)
    if kind == "run_at_boundary":
        log = sorted(zip(*(_column(tables[a["runs"]], a[c]) for c in ("start", "duration", "selector"))))
        edge = dt.timedelta(hours=a["hours"])
        return any(fresh[2] in a["refreshing"] and after[2] not in a["refreshing"]
                   and after[0] + dt.timedelta(seconds=after[1]) == fresh[0] + edge
                   for fresh, after in zip(log, log[1:]))
    if kind == "null_keys":
        return None in _column(tables[a["table"]], a["column"]) and None not in _column(plain[a["table"]], a["column"])
    if kind == "long_run":
        runs = tables[a["runs"]]
        log = sorted(zip(_column(runs, a["start"]), _column(runs, "_loaded_at")))
        return any(later[1] < earlier[1] for earlier, later in zip(log, log[1:]))
    if kind == "failed_runs":
        statuses = _column(tables[a["runs"]], a["status"])
        return statuses.count(a["failed"]) > _column(plain[a["runs"]], a["status"]).count(a["failed"])
    raise AssertionError(f"no check for the break {kind!r}")


@pytest.mark.parametrize("module, name", HIDDEN)
def test_each_accident_is_broken_and_reproducibly(module, name):
    spec = _spec(module, name)
    tables = _tables(module, name)
    plain_spec = {key: value for key, value in spec.items() if key != "accidents"}
    scenario = load_scenario(module)
    scenario.variants = [plain_spec if v["name"] == name else v for v in scenario.variants]
    plain = make_variant(scenario, name).tables
    for accident in spec["accidents"]:
        if accident["break"] in ("deep_lineage", "unprefixed_model", "exposure"):
            continue  # the graph's, checked on the built warehouse below
        assert _broken(accident["break"], tables, plain, accident), f"not broken: {accident['property']}"
    again = _tables(module, name)
    assert all(tables[t].rows == again[t].rows for t in tables), "the breaks draw other rows on a second build"


@pytest.mark.parametrize("module, name", HIDDEN)
def test_the_graph_accidents_are_broken_in_the_warehouse(warehouses, module, name):
    stage = stage_names(module)[0]
    with duckdb.connect(str(warehouse_path(module, stage, name)), read_only=True) as con:
        for accident in _spec(module, name)["accidents"]:
            if accident["break"] == "deep_lineage":
                model = Path(accident["model"]).stem
                depth = con.sql(f"""
                    with recursive up (name, depth) as (
                        select parent, 1 from dbt_graph.edges where child = '{model}'
                        union
                        select e.parent, up.depth + 1 from dbt_graph.edges e join up on e.child = up.name
                    )
                    select max(depth) from up where name = '{accident["parent"]}'""").fetchone()[0]
                assert depth >= 5, accident["property"]
            if accident["break"] == "unprefixed_model":
                model, folder = Path(accident["path"]).stem, Path(accident["path"]).parent.name
                parents = con.sql(f"select count(*) from dbt_graph.edges where child = '{model}'").fetchone()[0]
                named = con.sql(f"select folder from dbt_graph.nodes where name = '{model}'").fetchone()
                assert named == (folder,) and parents == len(accident["reads"]), accident["property"]
            if accident["break"] == "exposure":
                folder = Path(accident["path"]).parent.name
                named = con.sql(f"select resource_type, folder from dbt_graph.nodes "
                                f"where name = '{accident['name']}'").fetchone()
                parents = con.sql(f"select count(*) from dbt_graph.edges "
                                  f"where child = '{accident['name']}'").fetchone()[0]
                assert named == ("exposure", folder) and parents == len(accident["depends_on"]), accident["property"]


def test_a_broken_declaration_names_the_variant_and_the_accident():
    tables = _tables("wt05_fan_out", "light_baskets")
    with pytest.raises(DatasetError, match=r"variant 'x'.*accident 1 \(melt\): unknown break 'melt'"):
        break_accidents(tables, str, [{"property": "p", "break": "melt"}], 0, dt.datetime(2024, 1, 1), "variant 'x'")
    with pytest.raises(DatasetError, match=r"accident 1 \(gaps\):.*tabel"):
        break_accidents(tables, str, [{"property": "p", "break": "gaps", "tabel": "t"}], 0,
                        dt.datetime(2024, 1, 1), "variant 'x'")
    with pytest.raises(DatasetError, match="needs the `property`"):
        break_accidents(tables, str, [{"break": "gaps"}], 0, dt.datetime(2024, 1, 1), "variant 'x'")


def test_new_keys_follow_the_numbering_of_the_old():
    from incidentlab.accidents import next_key
    from incidentlab.datasets import Table

    runs = Table("runs", "run_id", {"run_id": "varchar"}, [("run_009",), ("run_010",)])
    orders = Table("orders", "order_id", {"order_id": "integer"}, [(1001,), (1003,)])
    named = Table("named", "name", {"name": "varchar"}, [("alpha",)])
    assert (next_key(runs), next_key(orders)) == ("run_011", 1004)
    with pytest.raises(DatasetError, match="not numbered"):
        next_key(named)


def test_a_boundary_no_run_can_reach_says_so():
    tables = _tables("wt05_fan_out", "light_baskets")  # every run is a full one: none follows a refresh without one
    accident = {"property": "p", "break": "run_at_boundary", "runs": "raw_pipeline_runs", "start": "run_date",
                "duration": "duration_seconds", "selector": "models_run", "refreshing": ["all"]}
    with pytest.raises(DatasetError, match="accident 1 \\(run_at_boundary\\): raw_pipeline_runs: no run"):
        break_accidents(tables, str, [accident], 0, dt.datetime(2024, 1, 1), "variant 'x'")
