"""A drafted remediation, from the findings, for a human to approve. The monitor never changes the pipeline."""

from __future__ import annotations

import yaml  # dbt's own dependency

from incidentlab.monitor.check_blast_radius import suspects
from incidentlab.monitor.context import REFRESH_COLUMNS, Context


def draft(ctx: Context) -> dict:
    """What to change, as text: ``orchestrator_command``, ``catch_up``, ``rebuild`` and ``tests`` (YAML); {} if nothing.

    - the orchestrator's command: when the latest run left marts out, the command of the last run before it that
      reached every mart (``dbt run`` when there is none);
    - the catch-up: ``dbt run --select`` the marts that are stale or were left out and not rebuilt since, as the
      folder selector (``marts.*``) when dbt says it selects exactly those, else by name;
    - a rebuild of each wrong model and what reads it (``dbt build --select model+``), once its SQL is fixed;
    - tests: a freshness test of each stale mart (a dashboard source with its SLA) and a ``unique`` test of
      each model whose grain failed, unless the project declares them already;
    - ``job``: what the job does not run of what the project declares (a ``unique`` test under ``dbt run``,
      freshness that ``dbt source freshness`` must check).
    """
    out: dict = {}
    coverage = [f for f in ctx.result("run_coverage") if f.verdict != "ok"]
    built = [run for run in ctx.runs if run.built]
    marts = set(ctx.project.marts)
    if coverage and built and built[-1].run_id == coverage[-1].subject:
        whole = [run for run in built if marts <= ctx.project.select(run.models_run)]
        good = whole[-1].command if whole else "dbt run"
        out["orchestrator_command"] = f"{built[-1].command}  ->  {good}"
    why = suspects(ctx)
    stale = sorted(m for m, reasons in why.items()
                   if m in marts and any(r == "stale" or r.startswith("left out") for r in reasons))
    if stale:
        out["catch_up"] = f"dbt run --select {_selector(ctx, stale)}"
    wrong = sorted(m for m, reasons in why.items() if any(r.endswith("failed") for r in reasons))
    if wrong:
        roots = [m for m in wrong if not any(m in ctx.project.downstream(o)[0] for o in wrong if o != m)]
        out["rebuild"] = f"dbt build --select {' '.join(f'{m}+' for m in roots)}  (after fixing {', '.join(roots)})"
    grain_failures = [f for f in ctx.result("grain") if f.verdict == "fail"]
    declared_unique = [f.subject for f in grain_failures if f.evidence.get("key_source") == "unique test"]
    freshness_sources = {m: source for m in stale if (source := ctx.project.freshness_source(m))}
    fresh = list(freshness_sources)
    checks_freshness = bool({"freshness", "source"} & ctx.history.commands)
    job = []
    if declared_unique:
        commands = {run.command_name for run in built[-1:]}
        runs = " and ".join(sorted(commands)) or "run"
        job.append(f"`unique` is declared on {', '.join(sorted(set(declared_unique)))} but the job runs "
                   f"`dbt {runs}`, which runs no test: use `dbt build`" if "build" not in commands else
                   f"`unique` is declared on {', '.join(sorted(set(declared_unique)))} and `dbt build` runs it: "
                   "make a failed test stop the job (it failed and the job went on)")
    if fresh:
        sources = ", ".join(freshness_sources.values())
        job.append(f"freshness is declared on {', '.join(fresh)} (source {sources}) and `dbt source freshness` "
                   "ran: make its failure stop the job or page someone" if checks_freshness else
                   f"freshness is declared on {', '.join(fresh)} (source {sources}) but no recorded run is "
                   "`dbt source freshness`: run it after every job")
    if job:
        out["job"] = job
    tests = _tests(ctx, [m for m in stale if m not in fresh],
                   [f for f in grain_failures if f.subject not in declared_unique])
    if tests:
        out["tests"] = tests
    return out


def _selector(ctx: Context, models: list[str]) -> str:
    folders = {ctx.project.models[m]["fqn"][1] for m in models if len(ctx.project.models[m]["fqn"]) > 2}
    if len(folders) == 1:
        candidate = f"{folders.pop()}.*"
        if ctx.project.select(candidate) == set(models):
            return candidate
    return " ".join(models)


def _tests(ctx: Context, stale: list[str], grain_failures: list) -> str:
    docs = []
    tables = []
    for mart in stale:
        sla = ctx.project.meta(mart).get("sla_hours", ctx.sla_hours) or 24
        column = next((c for c in REFRESH_COLUMNS if c in ctx.columns(mart)), None)
        if column:
            schema, name = ctx.project.relation(mart)
            tables.append({"name": name, "loaded_at_field": column,
                           "freshness": {"error_after": {"count": sla, "period": "hour"}}})
    if tables:
        docs.append({"version": 2, "sources": [{
            "name": "monitored_marts", "description": "The marts as the dashboards read them; fails past their SLA.",
            "schema": ctx.project.relation(stale[0])[0], "tables": tables}]})
    models = [{"name": f.subject, "columns": [{"name": f.evidence["key"], "data_tests": ["unique"]}]}
              for f in grain_failures if "," not in f.evidence["key"]]
    if models:
        docs.append({"version": 2, "models": models})
    text = "\n".join(yaml.safe_dump(doc, sort_keys=False) for doc in docs)
    if tables:
        text += "# run it after every job: dbt source freshness --select source:monitored_marts\n"
    return text


def render(remediation: dict) -> list[str]:
    """The draft as terminal lines."""
    if not remediation:
        return []
    lines = ["Drafted remediation (for a human to review and apply; the monitor changed nothing):"]
    if "orchestrator_command" in remediation:
        lines.append(f"  orchestrator command: {remediation['orchestrator_command']}")
    if "catch_up" in remediation:
        lines.append(f"  catch-up run:         {remediation['catch_up']}")
    if "rebuild" in remediation:
        lines.append(f"  rebuild:              {remediation['rebuild']}")
    for line in remediation.get("job", []):
        lines.append(f"  the job:              {line}")
    if "note" in remediation:
        lines.append(f"  {remediation['note']}")
    if "tests" in remediation:
        lines.append("  tests to add (YAML):")
        lines += [f"    {line}" for line in remediation["tests"].rstrip().splitlines()]
    return lines

