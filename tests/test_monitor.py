"""The monitor on the incidents' built warehouses: it flags WT-06 at the first staging-only run and WT-05's grain.

Every expected run and time is computed here from the warehouse (its audit log, dbt's graph, the marts) and from
the project's YAML, never typed in.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import duckdb
import pytest
from monitor_audit import audit_runs as _runs
from monitor_audit import first_run_past_sla, mart_slas

from incidentlab.build import stage_project
from incidentlab.datasets import load_scenario
from incidentlab.monitor import run_checks
from incidentlab.paths import dbt_dir, warehouse_path

WT06, WT05 = "wt06_data_stale", "wt05_fan_out"


def _connect(module: str, stage: str) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(warehouse_path(module, stage)), read_only=True)


def _by(report, check: str) -> dict:
    return {f.subject: f for f in report.findings if f.check == check}


@pytest.fixture(scope="module")
def wt06(warehouses):
    con = _connect(WT06, load_scenario(WT06).stages[0])
    yield con
    con.close()


def _check_at(con, module: str, now: dt.datetime, checks: list[str]):
    return run_checks(con, dbt_dir(module), now=now, checks=checks)


def test_duration_and_coverage_fire_at_the_first_staging_only_run_and_not_before(wt06):
    runs = _runs(wt06)
    first = next(i for i, run in enumerate(runs) if not run["reaches_marts"])
    before, at = runs[first - 1], runs[first]

    quiet = _check_at(wt06, WT06, before["ended_at"], ["duration_anomaly", "run_coverage"])
    assert quiet.verdict == "ok", quiet.render()

    report = _check_at(wt06, WT06, at["ended_at"], ["duration_anomaly", "run_coverage"])
    duration = _by(report, "duration_anomaly")[at["run_id"]]
    coverage = _by(report, "run_coverage")[at["run_id"]]
    assert duration.verdict == "fail" and duration.evidence["ratio"] < 0.5
    assert duration.fired_at == at["ended_at"]
    assert coverage.verdict == "fail" and "phantom success" in coverage.message
    marts = {r[0] for r in wt06.execute(
        "select name from dbt_graph.nodes where resource_type = 'model' and folder = 'marts'").fetchall()}
    assert set(coverage.evidence["left_out"]) == marts


def test_staleness_fires_at_the_first_run_past_the_sla(wt06):
    runs = _runs(wt06)
    sla = mart_slas(WT06)
    first_late, last_refresh = first_run_past_sla(runs, sla)
    hours = dt.timedelta(hours=next(iter(sla.values())))

    early = _check_at(wt06, WT06, runs[first_late - 1]["ended_at"], ["staleness"])
    assert {f.subject: f.verdict for f in early.findings} == dict.fromkeys(sla, "ok"), early.render()
    late = _check_at(wt06, WT06, runs[first_late]["ended_at"], ["staleness"])
    assert {f.subject: f.verdict for f in late.findings} == dict.fromkeys(sla, "fail"), late.render()
    assert all(f.fired_at == last_refresh + hours for f in late.findings)


def test_staleness_is_ok_once_fixed(warehouses):
    scenario = load_scenario(WT06)
    with _connect(WT06, scenario.stages[-1]) as con:
        report = _check_at(con, WT06, scenario.now, ["staleness"])
    assert [f.verdict for f in report.findings] == ["ok"] * len(mart_slas(WT06)), report.render()


def test_the_report_on_the_incident_names_the_missing_data_the_dashboards_and_the_fix(wt06):
    now = load_scenario(WT06).now
    report = run_checks(wt06, dbt_dir(WT06), now=now)
    assert report.verdict == "fail" and report.exit_code == 2

    blast = _by(report, "blast_radius")["fct_revenue_daily"]
    expected = wt06.execute("""
        with mart as (select max(order_date) as newest from main.fct_revenue_daily)
        select count(distinct order_date), sum(amount) from main.stg_orders, mart
        where order_date > mart.newest and status != 'returned'
    """).fetchone()
    assert (blast.evidence["missing_rows"], blast.evidence["missing_totals"]["revenue"]) == \
        (expected[0], pytest.approx(float(expected[1])))
    dashboards = {r[0] for r in wt06.execute("""
        select e.child from dbt_graph.edges as e join dbt_graph.nodes as n on n.name = e.child
        where e.parent = 'fct_revenue_daily' and n.resource_type = 'exposure'
    """).fetchall()}
    assert dashboards and set(blast.evidence["exposures"]) == dashboards

    assert report.remediation["catch_up"] == "dbt run --select marts.*"
    assert report.remediation["orchestrator_command"].endswith("->  dbt run")
    # the project declares the marts' freshness already: the draft says the job never checks it, adds no source
    assert "tests" not in report.remediation
    assert any("freshness is declared" in line and "dbt source freshness" in line
               for line in report.remediation["job"])

    as_json = json.loads(report.to_json())
    assert as_json["exit_code"] == 2 and len(as_json["findings"]) == len(report.findings)
    assert list(report.table().columns) == ["check", "subject", "verdict", "message"]
    assert "Drafted remediation" in report.render()


@pytest.mark.parametrize("stage_index, verdict", [(0, "fail"), (-1, "ok")])
def test_grain_and_reconciliation_fail_on_the_fan_out_and_pass_once_fixed(warehouses, stage_index, verdict):
    scenario = load_scenario(WT05)
    stage = scenario.stages[stage_index]
    with _connect(WT05, stage) as con, tempfile.TemporaryDirectory() as folder:
        project = stage_project(scenario, stage, None, Path(folder) / "dbt")
        report = run_checks(con, project, now=scenario.now, checks=["grain", "reconciliation"])
        rows, orders = con.execute("select count(*), count(distinct order_id) from main.stg_orders").fetchone()
    grain = {f.subject: f for f in report.findings if f.check == "grain" and f.verdict == "fail"}
    reconciliation = _by(report, "reconciliation")
    if verdict == "fail":
        assert rows > orders
        assert grain["stg_orders"].evidence["rows"] == rows
        assert grain["stg_orders"].evidence["distinct_keys"] == orders
        assert reconciliation["fct_revenue_daily"].verdict == "fail"
    else:
        assert rows == orders
        assert report.verdict == "ok", report.render()
        assert reconciliation["fct_revenue_daily"].evidence["days_compared"] > 0


def test_a_lab_monitors_its_own_copy_at_the_scenario_clock(warehouses):
    from incidentlab.notebook import Lab

    lab = Lab(WT06)
    try:
        report = lab.monitor(checks=["selector_coverage"])
        latest = lab.query("select models_run from raw.raw_pipeline_runs order by run_date desc limit 1")
    finally:
        lab.close()
    assert report.now == load_scenario(WT06).now
    assert [(f.subject, f.verdict) for f in report.findings] == [(latest.models_run[0], "fail")]
