"""Check ``blast_radius``: what reads the stale or wrong models, and what data is missing from them?"""

from __future__ import annotations

from incidentlab.monitor.check_grain import grain_keys
from incidentlab.monitor.context import REFRESH_COLUMNS, Context
from incidentlab.monitor.finding import Finding
from incidentlab.monitor.warehouse import is_numeric, one_row

NAME = "blast_radius"


def suspects(ctx: Context) -> dict[str, list[str]]:
    """Model -> why it is stale or wrong: failed by staleness, left out by a run and not rebuilt, grain,
    reconciliation."""
    found: dict[str, list[str]] = {}
    for finding in ctx.result("staleness"):
        if finding.verdict == "fail":
            found.setdefault(finding.subject, []).append("stale")
    skipped: dict[str, list[str]] = {}
    for finding in ctx.result("run_coverage"):
        for mart in finding.evidence.get("not_rebuilt_since", []):
            skipped.setdefault(mart, []).append(finding.subject)
    for mart, runs in skipped.items():
        later = f" and {len(runs) - 1} later run(s)" if len(runs) > 1 else ""
        found.setdefault(mart, []).append(f"left out by {runs[0]}{later}")
    for check in ("grain", "reconciliation"):
        for finding in ctx.result(check):
            if finding.verdict == "fail":
                found.setdefault(finding.subject, []).append(f"{check} failed")
    return {model: list(dict.fromkeys(why)) for model, why in sorted(found.items())}


def blast_radius(ctx: Context) -> list[Finding]:
    """From the stale or wrong models (see ``suspects``), every downstream model and exposure, and what is missing.

    Method: the downstream models and exposures (dashboards declared in dbt) come from the manifest's child map.
    What a stale model is missing: its SQL, compiled by dbt now, runs on the warehouse as it stands; the rows
    it would hold past the model's newest date (its first DATE column) are the missing rows, with the sum of each
    numeric column over them (e.g. the missing revenue); the rows up to that date a rebuild would hold and the
    model does not (``except all``, refresh columns aside) are rows changed in place. When the model has a
    one-column key (see ``grain_keys``), a row whose key the model holds is never missing, whatever its date (a
    customer whose first order lands after the newest date is already a row, its dates null): it is a row
    changed in place, as is every rebuilt row of a held key that differs. ``fail`` for each suspect, ``ok``
    when there is none.
    """
    findings = []
    for model, why in suspects(ctx).items():
        models, exposures = ctx.project.downstream(model)
        evidence: dict = {"why": why, "downstream_models": models, "exposures": exposures}
        if any(w == "stale" or w.startswith("left out") for w in why):
            evidence.update(_missing(ctx, model))
        reach = f"reaches {len(models)} model(s) and {len(exposures)} exposure(s)"
        if exposures:
            reach += f" ({', '.join(exposures)})"
        missing = ""
        if evidence.get("missing_rows"):
            totals = ", ".join(f"{k} {v:,.2f}".rstrip("0").rstrip(".") for k, v in evidence["missing_totals"].items())
            missing = f"; it is missing {evidence['missing_rows']} row(s) after {evidence['newest_date']}" + (
                f" ({totals})" if totals else "")
        if evidence.get("changed_rows"):
            held = (f"it holds (by {evidence['key']})" if evidence.get("key")
                    else f"up to {evidence['newest_date']}")
            missing += f"; {evidence['changed_rows']} row(s) {held} would differ if rebuilt now (changed in place)"
        findings.append(Finding(NAME, model, "fail", f"{model} ({'; '.join(why)}) {reach}{missing}.", evidence))
    if not findings:
        findings.append(Finding(NAME, "project", "ok", "no model is stale or wrong: nothing downstream is hit."))
    return findings


def _missing(ctx: Context, model: str) -> dict:
    """The rows ``model`` would hold if dbt rebuilt it now that it does not hold, past its newest date."""
    date_column = ctx.date_column(model)
    if date_column is None:
        return {"missing_rows": None, "note": f"{model} has no DATE column to compare"}
    newest = one_row(ctx.con, f'select max("{date_column}") from {ctx.table(model)}')[0]
    numeric = [c for c, t in ctx.columns(model).items() if is_numeric(t) and not c.endswith("_id")]
    sums = "".join(f', sum("{c}")' for c in numeric)
    rebuilt = ctx.project.compiled_sql(model, ctx.now)
    key = _key(ctx, model)
    held = f'(select "{key}" from {ctx.table(model)} where "{key}" is not null)' if key else None
    new = f' and "{key}" not in {held}' if key else ""
    row = one_row(ctx.con, f'select count(*){sums} from ({rebuilt}) as rebuilt '
                  f'where (? is null or "{date_column}" > ?){new}', [newest, newest])
    return {"date_column": date_column, "newest_date": str(newest) if newest else None, "missing_rows": row[0],
            "missing_totals": {c: float(v or 0) for c, v in zip(numeric, row[1:])}, "key": key,
            "changed_rows": _changed(ctx, model, rebuilt, f'"{key}" in {held}' if key else f'"{date_column}" <= ?',
                                     [] if key else [newest], newest)}


def _key(ctx: Context, model: str) -> str | None:
    """The model's one-column key (declared or inferred), None when it has none or a compound one."""
    return next((column for column in grain_keys(ctx, model) if "," not in column), None)


def _changed(ctx: Context, model: str, rebuilt: str, held: str, params: list, newest) -> int | None:
    """Rows already in the model (by its key, else up to its newest date) that a rebuild would hold differently:
    rows changed in place (a late row, a corrected amount), compared on every column but the refresh time; None
    when nothing to compare."""
    if newest is None:
        return None
    columns = ", ".join(f'"{c}"' for c in ctx.columns(model) if c not in REFRESH_COLUMNS)
    return one_row(ctx.con, f"""
        select count(*) from (
            select {columns} from ({rebuilt}) as rebuilt where {held}
            except all
            select {columns} from {ctx.table(model)}
        )""", params)[0]
