"""The monitor on a dbt project it has never seen: a toy shop written here, built with dbt in-process.

The toy is not a course module: no scenario clock, its own profile and warehouse name, its own manifest.json
(written by its build), an audit table of another name, and marts without a refresh column (their refresh time
comes from the audit log).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from monitor_rides import dbt, write_files

from incidentlab.cli import main

PROJECT = {
    "dbt_project.yml": """\
name: toy_shop
version: "1.0.0"
config-version: 2
profile: toy_shop
models:
  toy_shop:
    staging:
      +materialized: view
    marts:
      +materialized: table
""",
    "models/staging/sources.yml": """\
version: 2
sources:
  - name: shop
    schema: landing
    tables: [{name: sales}]
""",
    "models/staging/stg_sales.sql": """\
with

source as (

    select * from {{ source('shop', 'sales') }}

),

final as (

    select sale_id, sold_on, item, amount from source

)

select * from final
""",
    "models/marts/marts.yml": """\
version: 2
models:
  - name: sales_by_day
    config:
      meta: {sla_hours: 24}
    columns:
      - name: sold_on
        data_tests: [unique]
  - name: sales_by_item
    config:
      meta: {grain: "one row per item"}
""",
    "models/marts/sales_by_day.sql": """\
with

sales as (

    select * from {{ ref('stg_sales') }}

),

final as (

    select sold_on, count(*) as sales, sum(amount) as revenue
    from sales
    group by sold_on

)

select * from final
""",
    "models/marts/sales_by_item.sql": """\
with

sales as (

    select * from {{ ref('stg_sales') }}

),

final as (

    select item, sum(amount) as revenue
    from sales
    group by item

)

select * from final
""",
}
BUILT_AT = dt.datetime(2025, 6, 1, 6, 0)
# The job ran in full once; the next morning a changed command ran staging alone, green.
RUNS = [("job-1", BUILT_AT, "success", 0, "all", 60),
        ("job-2", BUILT_AT + dt.timedelta(days=1), "success", 0, "staging.*", 12)]
NOW = BUILT_AT + dt.timedelta(days=1, hours=3)  # 27 hours after the full run: over the 24 h SLA


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path]:
    """(project dir, warehouse file) of the toy, built by ``dbt build`` in-process, with its audit table."""
    root = tmp_path_factory.mktemp("toy_shop")
    project, warehouse = root / "project", root / "shop.duckdb"
    write_files(project, PROJECT)
    (project / "profiles.yml").write_text(
        f"toy_shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: '{warehouse}'\n",
        encoding="utf-8")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema landing")
        con.execute("create table landing.sales as select * from (values (1, date '2025-05-30', 'mug', 12.5), "
                    "(2, date '2025-05-31', 'mug', 12.5), (3, date '2025-05-31', 'tea', 4.0)) "
                    "as t(sale_id, sold_on, item, amount)")
    dbt(project, "build", "--profiles-dir", str(project))
    assert (project / "target" / "manifest.json").is_file()
    # Ingestion lands a sale of the day after the build; only a run that reaches the marts would show it.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into landing.sales values (4, date '2025-06-01', 'tea', 8.0)")
        con.execute("create table main.job_log (run_id varchar, run_date timestamp, status varchar, "
                    "exit_code integer, models_run varchar, duration_seconds integer)")
        con.executemany("insert into main.job_log values (?, ?, ?, ?, ?, ?)", RUNS)
    return project, warehouse


def _cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_monitor_reads_a_project_it_has_never_seen(toy, capsys):
    project, warehouse = toy
    code, out = _cli(capsys, "monitor", "--project-dir", str(project), "--warehouse", str(warehouse),
                     "--now", NOW.isoformat(), "--audit-table", "job_log", "--sla-hours", "48", "--json")
    report = json.loads(out)
    assert code == 2 and report["exit_code"] == 2
    by = {(f["check"], f["subject"]): f for f in report["findings"]}

    coverage = by[("run_coverage", "job-2")]
    assert coverage["verdict"] == "fail" and coverage["evidence"]["left_out"] == ["sales_by_day", "sales_by_item"]
    stale = by[("staleness", "sales_by_day")]  # its own meta SLA (24 h), refreshed by job-1 per the audit log
    assert stale["verdict"] == "fail" and stale["evidence"]["refresh_source"] == "audit log job-1"
    assert by[("staleness", "sales_by_item")]["verdict"] == "ok"  # the --sla-hours default, 48 h
    assert by[("grain", "sales_by_day")]["evidence"]["key_source"] == "unique test"
    assert by[("grain", "sales_by_item")]["evidence"]["key"] == "item"
    missing = by[("blast_radius", "sales_by_day")]["evidence"]
    assert (missing["missing_rows"], missing["missing_totals"]["revenue"]) == (1, 8.0)
    assert report["remediation"]["catch_up"] == "dbt run --select marts.*"


def test_coverage_exit_codes_on_a_project_it_has_never_seen(toy, capsys):
    project, _ = toy
    code, out = _cli(capsys, "coverage", "--select", "staging.*", "--project-dir", str(project), "--json")
    finding = json.loads(out)[str(project)]
    assert code == 2 and finding["evidence"]["excluded"] == ["sales_by_day", "sales_by_item"]
    assert finding["evidence"]["covered_pct"] == 0

    code, out = _cli(capsys, "coverage", "--select", "+sales_by_item", "--project-dir", str(project))
    assert code == 2 and "50% of the marts" in out and "sales_by_day" in out

    code, out = _cli(capsys, "coverage", "--select", "stg_sales+", "--project-dir", str(project))
    assert code == 0 and "covers all 2 marts" in out


def test_bad_input_is_one_plain_line_and_exit_3(toy, capsys, tmp_path):
    project, warehouse = toy
    code = main(["monitor", "--project-dir", str(tmp_path), "--warehouse", str(warehouse)])
    err = capsys.readouterr().err
    assert code == 3 and "not a dbt project" in err and len(err.strip().splitlines()) == 1
    code = main(["monitor", "--project-dir", str(project), "--warehouse", str(warehouse), "--audit-table", "nope"])
    err = capsys.readouterr().err
    assert code == 3 and "no table named nope" in err and "Traceback" not in err
    assert main(["coverage", "--select", "staging.*", "--frobnicate"]) == 3
