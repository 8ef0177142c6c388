"""The audit log as the monitor's tests read it, independently of the monitor: from the warehouse and dbt's graph."""

from __future__ import annotations

import datetime as dt

import yaml

from incidentlab.paths import dbt_dir


def audit_runs(con) -> list[dict]:
    """The audit log, oldest first, with each run's end and whether dbt's graph says its selector reaches a mart."""
    rows = con.execute("""
        with marts as (
            select name from dbt_graph.nodes where resource_type = 'model' and folder = 'marts'
        ),
        reaching as (
            select distinct selector from dbt_graph.selections where name in (select name from marts)
        )
        select run_id, run_date, run_date + to_seconds(duration_seconds) as ended_at, models_run,
               models_run in (select selector from reaching) as reaches_marts
        from raw.raw_pipeline_runs
        order by run_date
    """).fetchall()
    return [dict(zip(("run_id", "run_date", "ended_at", "models_run", "reaches_marts"), row)) for row in rows]


def mart_slas(module: str) -> dict[str, float]:
    """meta.sla_hours of each mart, read from the project's YAML."""
    spec = yaml.safe_load((dbt_dir(module) / "models" / "marts" / "marts.yml").read_text(encoding="utf-8"))
    return {m["name"]: m["config"]["meta"]["sla_hours"] for m in spec["models"]}


def first_run_past_sla(runs: list[dict], slas: dict[str, float]) -> tuple[int, dt.datetime]:
    """(index of the first run that ends more than the SLA after the marts' last refresh, that refresh)."""
    assert len(set(slas.values())) == 1, "one SLA for every mart, so one first run"
    hours = dt.timedelta(hours=next(iter(slas.values())))
    last_refresh = None
    for i, run in enumerate(runs):
        if last_refresh is not None and run["ended_at"] - last_refresh > hours:
            return i, last_refresh
        if run["reaches_marts"]:
            last_refresh = run["run_date"]  # the marts' updated_at: the clock when the run built them
    raise AssertionError("no run ends past the SLA")
