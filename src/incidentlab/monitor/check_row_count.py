"""Check ``row_count``: did a model's row count jump, or drop, against its recent runs?"""

from __future__ import annotations

from statistics import mean

from incidentlab.monitor.check_duration_anomaly import MIN_HISTORY, TRAILING_RUNS, jump_or_drop, ratio_verdict
from incidentlab.monitor.context import Context
from incidentlab.monitor.finding import Finding, NotChecked

NAME = "row_count"


def counts_by_model(ctx: Context, field: str = "row_count") -> dict[str, list[tuple]]:
    """Model -> [(run, value)] of ``field`` as dbt's record holds it, oldest first (green runs that built it)."""
    series: dict[str, list[tuple]] = {}
    for run in ctx.runs:
        for node in run.nodes or ():
            value = getattr(node, field)
            if node.resource_type == "model" and node.status == "success" and value is not None:
                series.setdefault(node.name, []).append((run, value))
    return series


def row_count(ctx: Context) -> list[Finding]:
    """Each table model's row count after its latest run against the mean of its previous 5 runs' counts.

    Method: the counts are those dbt's run_history package recorded at the end of each run. Both directions:
    ``fail`` above 2x or below 1/2 (a fan-out triples rows; a lost join or filter empties a table), ``warn``
    beyond 1.5x; fewer than 3 previous counts: no baseline. Fired at the end of the run that built it.
    """
    series = counts_by_model(ctx)
    if not series:
        raise NotChecked(f"the run history ({ctx.history.source}) records no row counts; the run_history dbt "
                         "package records them for table models.")
    findings = []
    for model, points in sorted(series.items()):
        (run, rows), before = points[-1], [v for _, v in points[:-1]][-TRAILING_RUNS:]
        if len(before) < MIN_HISTORY:
            continue
        trailing = mean(before)
        ratio = rows / trailing if trailing else (1.0 if rows == 0 else float("inf"))
        verdict = ratio_verdict(ratio) if trailing else ("ok" if rows == 0 else "warn")
        evidence = {"run_id": run.run_id, "rows": rows, "trailing_mean_rows": round(trailing, 1),
                    "ratio": round(ratio, 2), "trailing_runs": len(before)}
        trend = f"{model} has {rows} rows after {run.run_id}, {ratio:.2f}x the mean of its {len(before)} runs " \
                f"before ({trailing:.0f})"
        findings.append(Finding(NAME, model, verdict, trend + jump_or_drop(ratio, verdict), evidence,
                                run.ended_at if verdict != "ok" else None))
    if not findings:
        findings.append(Finding(NAME, "project", "ok", f"fewer than {MIN_HISTORY} earlier counts of any model: "
                                "no baseline yet."))
    return findings
