"""Check ``selector_coverage``: which marts does a selector exclude? (``incidentlab coverage`` for CI)"""

from __future__ import annotations

from incidentlab.monitor.audit import command_text
from incidentlab.monitor.context import Context
from incidentlab.monitor.finding import Finding
from incidentlab.monitor.project import DbtProject

NAME = "selector_coverage"


def coverage_of(project: DbtProject, selector: str) -> Finding:
    """The marts ``dbt run --select <selector>`` would build and the ones it excludes, resolved by ``dbt ls``.

    ``ok`` at 100% of the marts (see ``DbtProject.marts``), ``fail`` below.
    """
    marts = project.marts
    selected = project.select(selector)
    excluded = [m for m in marts if m not in selected]
    covered = 100.0 if not marts else round(100 * (len(marts) - len(excluded)) / len(marts), 1)
    evidence = {"selector": selector, "marts": marts, "excluded": excluded, "covered_pct": covered,
                "selected_models": sorted(selected)}
    if excluded:
        return Finding(NAME, selector, "fail", f"`{command_text(selector)}` covers {covered:g}% of the marts: it "
                       f"excludes {', '.join(excluded)}.", evidence)
    return Finding(NAME, selector, "ok", f"`{command_text(selector)}` covers all {len(marts)} marts.", evidence)


def selector_coverage(ctx: Context, selectors: tuple[str, ...] = ()) -> list[Finding]:
    """Coverage of ``selectors``, or else of the orchestrator's current command (the latest run's ``models_run``).

    Method: see ``coverage_of``: the selector resolved by dbt's own graph against the project's marts.
    """
    if not selectors:
        last = next((run for run in reversed(ctx.runs) if run.built), None)
        selectors = (last.models_run,) if last else ()
    return [coverage_of(ctx.project, selector) for selector in dict.fromkeys(selectors)]
