"""dbt/analyses: compiled by dbt in-process, every step run on the warehouse it is written for."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
import sqlparse
from warehouse_copies import copy_of, dbt, read_only

from incidentlab.dbt_runner import state_dir
from incidentlab.paths import project_root

STEP = re.compile(r"^-- step (\d+):", re.MULTILINE)
FEB_8, FEB_11 = dt.date(2024, 2, 8), dt.date(2024, 2, 11)
PHANTOMS = ["run_012", "run_013", "run_014", "run_015"]


@pytest.fixture(scope="module")
def compiled(warehouses, tmp_path_factory) -> Path:
    warehouse = copy_of("stale", tmp_path_factory.mktemp("analyses"))
    result = dbt(["compile", "--select", "resource_type:analysis"], warehouse)
    assert result.success
    assert {node.node.name for node in result.result.results} == {"01_investigation", "02_solution", "03_verification"}
    return state_dir(warehouse) / "target" / "compiled" / "acme" / "analyses"


def steps(compiled: Path, analysis: str) -> dict[int, str]:
    """Step number -> its statement, from the compiled analysis; steps are numbered 1, 2, 3... in order."""
    sql = (compiled / f"{analysis}.sql").read_text(encoding="utf-8")
    assert "{{" not in sql and "{%" not in sql
    found = {}
    for statement in filter(str.strip, sqlparse.split(sql)):
        numbers = STEP.findall(statement)
        assert len(numbers) == 1, f"{analysis}: every statement is headed by one `-- step N:` comment:\n{statement}"
        found[int(numbers[0])] = statement
    assert list(found) == list(range(1, len(found) + 1))
    return found


def results(compiled: Path, analysis: str, stage: str) -> dict[int, list[dict]]:
    """Every step of ``analysis`` run on the ``stage`` warehouse, read-only: step -> rows as dicts."""
    out = {}
    with read_only(stage) as con:
        for number, statement in steps(compiled, analysis).items():
            rel = con.sql(statement.rstrip().rstrip(";"))
            out[number] = [dict(zip(rel.columns, row)) for row in rel.fetchall()]
    return out


def by(rows: list[dict], key: str) -> dict:
    return {row[key]: row for row in rows}


@pytest.fixture(scope="module")
def investigation(compiled):
    return results(compiled, "01_investigation", "stale")


def test_investigation_has_the_walkthrough_steps(compiled):
    assert len(steps(compiled, "01_investigation")) == 7
    # compiled with the scenario clock, not today's
    assert "cast('2024-02-12 09:00:00' as timestamp)" in (compiled / "01_investigation.sql").read_text(encoding="utf-8")


def test_step_1_marts_behind_staging(investigation):
    rows = by(investigation[1], "mart")
    assert set(rows) == {"fct_revenue_daily", "fct_daily_signups"}
    for row in rows.values():
        assert (row["mart_max_date"], row["staging_max_date"], row["days_behind"]) == (FEB_8, FEB_11, 3)


def test_step_2_hours_stale(investigation):
    assert {(row["mart"], row["hours_stale"]) for row in investigation[2]} == {
        ("fct_revenue_daily", 86.8), ("fct_daily_signups", 86.8)
    }


def test_step_3_audit_log_all_green(investigation):
    log = investigation[3]
    assert len(log) == 15
    assert {(row["status"], row["exit_code"]) for row in log} == {("success", 0)}


def test_step_4_four_phantom_successes(investigation):
    assert [row["run_id"] for row in investigation[4]] == PHANTOMS
    assert {row["models_run"] for row in investigation[4]} == {"staging.*"}


def test_step_5_durations(investigation):
    runs = by(investigation[5], "run_id")
    assert (runs["run_012"]["trailing_avg_duration_7d"], runs["run_012"]["duration_ratio"]) == (145.0, 0.28)
    assert [run for run, row in runs.items() if row["unusually_fast"]] == PHANTOMS


def test_step_6_blast_radius(investigation):
    with read_only("stale") as con:
        weekend_revenue = con.sql(
            "select sum(amount) from stg_orders where status != 'returned' "
            "and order_date between '2024-02-09' and '2024-02-11'"
        ).fetchone()[0]
    rows = by(investigation[6], "mart")
    assert set(rows) == {"fct_revenue_daily", "fct_daily_signups"}
    revenue, signups = rows["fct_revenue_daily"], rows["fct_daily_signups"]
    assert (revenue["frozen_through"], revenue["days_missing"], revenue["rows_missing"]) == (FEB_8, 3, 15)
    assert revenue["revenue_missing"] == weekend_revenue == Decimal("2772.98")
    assert (signups["frozen_through"], signups["days_missing"], signups["rows_missing"]) == (FEB_8, 3, 8)


def test_step_7_assert_freshness_left_out(investigation):
    left_out = {row["test_name"] for row in investigation[7]}
    assert "assert_freshness" in left_out
    assert not any(name.startswith(("unique_stg_", "not_null_stg_")) for name in left_out)


def test_solution_checks_go_red_on_the_stale_warehouse(compiled):
    solution = results(compiled, "02_solution", "stale")
    [gate] = solution[1]
    assert (gate["run_id"], gate["includes_marts"]) == ("run_015", False)
    assert gate["gate"].startswith("fail")
    assert {row["mart"]: row["freshness"] for row in solution[2]} == {"fct_revenue_daily": "error",
                                                                      "fct_daily_signups": "error"}
    [dashboard] = solution[3]
    assert (dashboard["latest_order_date"], dashboard["days_missing"], dashboard["dashboard_check"]) == (
        FEB_8, 3, "error")
    assert [row["run_id"] for row in solution[4]] == PHANTOMS


def test_solution_freshness_goes_green_once_fixed(compiled):
    solution = results(compiled, "02_solution", "fixed")
    assert {row["freshness"] for row in solution[2]} == {"ok"}
    assert solution[3][0]["dashboard_check"] == "ok"


def healthy(verification: dict[int, list[dict]]) -> bool:
    days_match = all(r["mismatched_days"] == 0 and r["mart_days"] == r["staging_days"] for r in verification[1])
    fresh = all(r["within_sla"] and r["latest_day"] == FEB_11 for r in verification[2])
    weekend_shown = [r["day"] for r in verification[3]] == [dt.date(2024, 2, d) for d in (9, 10, 11)]
    return days_match and fresh and weekend_shown


def test_verification_shows_the_fixed_marts_healthy(compiled):
    verification = results(compiled, "03_verification", "fixed")
    assert healthy(verification)
    assert {r["mart"] for r in verification[1]} == {"fct_revenue_daily", "fct_daily_signups"}
    assert sum(r["signups"] for r in verification[3]) == 8


def test_verification_shows_the_stale_marts_unhealthy(compiled):
    verification = results(compiled, "03_verification", "stale")
    assert not healthy(verification)
    assert {r["mismatched_days"] for r in verification[1]} == {3}
    assert verification[3] == []


def test_postmortem_quotes_only_checked_numbers(investigation):
    text = (project_root() / "dbt" / "wt06_data_stale" / "analyses" / "04_postmortem.md").read_text(encoding="utf-8")
    marts = by(investigation[6], "mart")
    revenue, signups = marts["fct_revenue_daily"], marts["fct_daily_signups"]
    run_012 = by(investigation[5], "run_id")["run_012"]
    refresh = investigation[2][0]
    # every number the postmortem states, as it states it, built from the query results
    phrases = [
        f"**{refresh['hours_stale']} hours**",
        f"Feb 8 {refresh['last_refreshed_at']:%H:%M:%S}",
        f"**{revenue['rows_missing']} orders**",
        f"**{revenue['revenue_missing']}**",
        f"**{signups['rows_missing']} signups**",
        f"**{revenue['days_missing']} days**",
        f"**{run_012['duration_seconds']} s**",
        f"**{run_012['trailing_avg_duration_7d']:g} s**",
        f"**{run_012['duration_ratio']}**",
        f"**{len(investigation[4])} phantom successes**",
        f"{refresh['hours_stale']} hours is far too long",
        f"a run at {run_012['duration_ratio']} of its usual length",
    ]
    assert [phrase for phrase in phrases if phrase not in text] == []


def test_postmortem_first_red_check_is_run_013(investigation):
    # "run_013: the first run after the marts passed 25 hours old": the rule of tests/assert_freshness.sql
    refreshed = investigation[2][0]["last_refreshed_at"]
    late = [row["run_id"] for row in investigation[3] if row["run_date"] > refreshed + dt.timedelta(hours=25)]
    assert late[0] == "run_013"
