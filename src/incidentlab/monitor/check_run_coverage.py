"""Check ``run_coverage``: which marts did each run of the audit log leave out?"""

from __future__ import annotations

from incidentlab.monitor.context import Context
from incidentlab.monitor.finding import Finding

NAME = "run_coverage"


def run_coverage(ctx: Context) -> list[Finding]:
    """The marts each run actually built, against all of them.

    Method: what a run built is what dbt recorded as run with success (the run_history package, Elementary), else
    its selection resolved by dbt's own graph (``dbt ls``, in-process); the marts it did not build were left out.
    A green run (status success, exit code 0) that left out marts is a phantom success. ``fail`` while a mart it
    left out has not been rebuilt since the run started (refresh time as the staleness check reads it), ``warn``
    once every one has been; fired at the run's end. When no run left a mart out, one ``ok`` finding for the
    latest run.
    """
    marts = set(ctx.project.marts)
    findings = []
    for run in ctx.runs:
        if not run.built:
            continue
        left_out = sorted(marts - ctx.built_by(run))
        if not left_out:
            continue
        stale = [m for m in left_out if (ctx.refreshed_at(m)[0] or run.run_date) <= run.run_date]
        kind = "a phantom success: green, yet it" if run.green else f"{run.status} (exit {run.exit_code}) and"
        since = (f"{len(stale)} not rebuilt since" if stale else "all rebuilt since")
        findings.append(Finding(
            NAME, run.run_id, "fail" if stale else "warn",
            f"{run.run_id} ({run.run_date:%a %b %d %H:%M}, `{run.command}`) was {kind} left out "
            f"{len(left_out)} of {len(marts)} marts ({', '.join(left_out)}); {since}.",
            {"run_id": run.run_id, "models_run": run.models_run, "green": run.green, "left_out": left_out,
             "not_rebuilt_since": stale, "marts": sorted(marts)},
            run.ended_at))
    if not findings:
        last = next((run for run in reversed(ctx.runs) if run.built), None)
        subject = last.run_id if last else "audit log"
        findings.append(Finding(NAME, subject, "ok", f"every recorded run reached all {len(marts)} marts.",
                                {"runs": sum(run.built for run in ctx.runs), "marts": sorted(marts)}))
    return findings
