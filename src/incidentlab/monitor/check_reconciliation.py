"""Check ``reconciliation``: does a mart's total agree, day by day, with its source of truth?"""

from __future__ import annotations

from incidentlab.errors import IncidentLabError
from incidentlab.monitor.context import Context
from incidentlab.monitor.finding import Finding
from incidentlab.monitor.warehouse import columns_of, quoted

NAME = "reconciliation"
KEYS = ("column", "date_column", "against", "against_column", "against_date_column")


def reconciliation(ctx: Context) -> list[Finding]:
    """Each mart with a ``meta.reconcile`` against the source of truth it names, per day.

    ``meta.reconcile`` = {column, date_column, against, against_column, against_date_column, tolerance}:
    ``against`` is a model or ``source_name.table_name``. Method: sum(column) per date_column of the mart against
    sum(against_column) per against_date_column of the truth, on every day the truth has (a day it has not
    booked yet is not compared); ``fail`` when a day differs by more than ``tolerance`` (default 0.01).
    """
    findings = []
    for model in sorted(ctx.project.models):
        spec = ctx.project.meta(model).get("reconcile")
        if not spec:
            continue
        missing = [k for k in KEYS if k not in spec]
        if missing:
            raise IncidentLabError(f"{model}: meta.reconcile needs {', '.join(missing)} (it has "
                                   f"{', '.join(spec) or 'nothing'}).")
        truth = _relation(ctx, spec["against"])
        tolerance = float(spec.get("tolerance", 0.01))
        rows = ctx.con.execute(f"""
            with mart as (
                select "{spec['date_column']}" as day, sum("{spec['column']}") as total
                from {ctx.table(model)} group by 1
            ),
            truth as (
                select "{spec['against_date_column']}" as day, sum("{spec['against_column']}") as total
                from {truth} group by 1
            )
            select truth.day, cast(coalesce(mart.total, 0) as double), cast(truth.total as double)
            from truth left join mart on mart.day = truth.day
            order by truth.day
        """).fetchall()
        off = [(day, got, want) for day, got, want in rows if abs(got - want) > tolerance]
        mart_total, truth_total = sum(r[1] for r in rows), sum(r[2] for r in rows)
        evidence = {"against": spec["against"], "column": spec["column"], "days_compared": len(rows),
                    "days_off": len(off), "mart_total": round(mart_total, 2), "truth_total": round(truth_total, 2),
                    "ratio": round(mart_total / truth_total, 3) if truth_total else None,
                    "off_days": [{"day": str(d), "mart": round(g, 2), "truth": round(w, 2)} for d, g, w in off[:10]]}
        if off:
            findings.append(Finding(NAME, model, "fail",
                                    f"{model}.{spec['column']} disagrees with {spec['against']} on {len(off)} of "
                                    f"{len(rows)} days: {mart_total:,.2f} against {truth_total:,.2f} "
                                    f"({evidence['ratio']}x).", evidence))
        else:
            findings.append(Finding(NAME, model, "ok", f"{model}.{spec['column']} agrees with {spec['against']} "
                                    f"on all {len(rows)} days.", evidence))
    return findings


def _relation(ctx: Context, name: str) -> str:
    if name in ctx.project.models:
        return ctx.table(name)
    found = ctx.project.source_relation(name)
    if found is None or not columns_of(ctx.con, *found):
        raise IncidentLabError(f"meta.reconcile names {name!r}, which is neither a model nor a source "
                               "(source_name.table_name) in the warehouse.")
    return quoted(*found)
