"""Check ``selector_coverage``: which marts does a selector exclude? (``incidentlab coverage`` for CI)"""

from __future__ import annotations

from incidentlab.monitor.audit import command_text
from incidentlab.monitor.context import Context
from incidentlab.monitor.finding import Finding, NotChecked
from incidentlab.monitor.project import DbtProject

NAME = "selector_coverage"


def coverage_of(project: DbtProject, selector: str) -> Finding:
    """The marts ``dbt run --select <selector>`` would build and the ones it excludes, resolved by ``dbt ls``.

    ``ok`` at 100% of the marts (see ``DbtProject.marts``), ``fail`` below, and ``fail`` when the selection
    matches no model at all (a typo'd tag or path: dbt itself only warns and does nothing).
    """
    marts = project.marts
    selected = project.select(selector)
    excluded = [m for m in marts if m not in selected]
    covered = 100.0 if not marts else round(100 * (len(marts) - len(excluded)) / len(marts), 1)
    evidence = {"selector": selector, "marts": marts, "excluded": excluded, "covered_pct": covered,
                "selected_models": sorted(selected), "matches_nothing": not selected}
    if not selected:
        return Finding(NAME, selector, "fail", f"`{command_text(selector)}` matches no model of the project: "
                       f"check the selector (it builds none of the {len(marts)} marts).", evidence)
    if excluded:
        return Finding(NAME, selector, "fail", f"`{command_text(selector)}` covers {covered:g}% of the marts: it "
                       f"excludes {', '.join(excluded)}.", evidence)
    return Finding(NAME, selector, "ok", f"`{command_text(selector)}` covers all {len(marts)} marts.", evidence)


def selector_coverage(ctx: Context) -> list[Finding]:
    """Coverage of ``ctx.selectors``, or else of the job's current command (the latest run's selection).

    Method: see ``coverage_of``: the selector resolved by dbt's own graph against the project's marts.
    """
    selectors = ctx.selectors
    if not selectors:
        last = next((run for run in reversed(ctx.runs) if run.built), None)
        selectors = (last.models_run,) if last else ()
    if not selectors:
        raise NotChecked("no selection given (--select) and no recorded run to take the job's command from.")
    return [coverage_of(ctx.project, selector) for selector in dict.fromkeys(selectors)]
