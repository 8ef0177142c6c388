"""Check ``metric_jump``: did a model's declared metric (``meta.monitor_metric``) jump or drop?"""

from __future__ import annotations

from statistics import mean

from incidentlab.monitor.check_duration_anomaly import MIN_HISTORY, TRAILING_RUNS, jump_or_drop, ratio_verdict
from incidentlab.monitor.check_row_count import counts_by_model
from incidentlab.monitor.context import Context
from incidentlab.monitor.finding import Finding

NAME = "metric_jump"
TRAILING_DAYS = 7


def metric_jump(ctx: Context) -> list[Finding]:
    """Each model with ``meta.monitor_metric: <column>``: its latest day against the days before, and its value
    per row against the model's previous runs.

    Method: (1) in the warehouse, sum(column) per day (the model's date column) for the latest day against the
    mean of the 7 days before it; (2) when dbt's run_history recorded the metric's sum and row count at each
    run, sum / rows after the latest run against the mean of the previous 5 runs (a fan-out rebuilt over every
    day moves every day at once, which (1) cannot see). ``fail`` beyond 2x either way, ``warn`` beyond 1.5x;
    fewer than 3 points: no baseline. A model without the column is an error of its YAML.
    """
    findings = []
    sums, rows = counts_by_model(ctx, "metric_sum"), counts_by_model(ctx, "row_count")
    for model in sorted(ctx.project.models):
        column = ctx.project.meta(model).get("monitor_metric")
        if not column:
            continue
        columns = ctx.columns(model)
        if column not in columns:
            findings.append(Finding(NAME, model, "error", f"{model}: meta.monitor_metric names {column!r}, which "
                                    "is not a column of the model in the warehouse."))
            continue
        findings += _by_day(ctx, model, column)
        findings += _by_run(model, column, sums.get(model, []), dict((r.run_id, v) for r, v in rows.get(model, [])))
    return findings


def _by_day(ctx: Context, model: str, column: str) -> list[Finding]:
    day = ctx.date_column(model)
    if day is None:
        return []
    points = ctx.con.execute(f'select "{day}", cast(sum("{column}") as double) from {ctx.table(model)} '
                             f'where "{day}" is not null group by 1 order by 1').fetchall()
    if len(points) <= MIN_HISTORY:
        return []
    (latest, value), before = points[-1], [v or 0 for _, v in points[:-1]][-TRAILING_DAYS:]
    trailing = mean(before)
    ratio = value / trailing if trailing else 1.0
    verdict = ratio_verdict(ratio)
    text = (f"{model}.{column} on {latest} is {value:,.2f}, {ratio:.2f}x the mean of the {len(before)} days "
            f"before ({trailing:,.2f})")
    return [Finding(NAME, model, verdict, text + jump_or_drop(ratio, verdict),
                    {"by": "day", "day": str(latest), "value": value, "trailing_mean": round(trailing, 2),
                     "ratio": round(ratio, 2)})]


def _by_run(model: str, column: str, sums: list[tuple], rows: dict[str, int]) -> list[Finding]:
    per_row = [(run, total / rows[run.run_id]) for run, total in sums if rows.get(run.run_id)]
    if len(per_row) <= MIN_HISTORY:
        return []
    (run, value), before = per_row[-1], [v for _, v in per_row[:-1]][-TRAILING_RUNS:]
    trailing = mean(before)
    ratio = value / trailing if trailing else 1.0
    verdict = ratio_verdict(ratio)
    text = (f"{model}.{column} per row after {run.run_id} is {value:,.2f}, {ratio:.2f}x its mean over the "
            f"{len(before)} runs before ({trailing:,.2f})")
    return [Finding(NAME, f"{model} (per run)", verdict,
                    text + jump_or_drop(ratio, verdict),
                    {"by": "run", "run_id": run.run_id, "value": round(value, 4), "trailing_mean": round(trailing, 4),
                     "ratio": round(ratio, 2)}, run.ended_at if verdict != "ok" else None)]
