"""Check ``staleness``: is each mart refreshed within its SLA, and does its newest data keep up?"""

from __future__ import annotations

import datetime as dt

from incidentlab.monitor.context import Context
from incidentlab.monitor.finding import Finding
from incidentlab.monitor.warehouse import one_row

NAME = "staleness"


def staleness(ctx: Context) -> list[Finding]:
    """Each mart's last refresh and newest data date against its SLA.

    Method: the SLA is the mart's ``meta.sla_hours`` (else the default ``sla_hours``). The refresh time is the
    newest value of the mart's refresh column (``_refreshed_at``, ``updated_at``…) or, without one, the start of
    the audit log's latest run that built it (evidence ``refresh_source`` says which). ``fail`` when ``now`` is
    more than the SLA after the refresh (fired at refresh + SLA); ``warn`` when the mart has no SLA or was never
    built. The newest data date (the mart's first DATE column, or ``meta.date_column``) is evidence only: a day
    without orders is not an incident; what the mart misses against its sources is ``blast_radius``'s measure.
    """
    findings = []
    for mart in ctx.project.marts:
        if not ctx.columns(mart):
            findings.append(Finding(NAME, mart, "warn", f"{mart} is not in the warehouse: it was never built."))
            continue
        sla = ctx.project.meta(mart).get("sla_hours", ctx.sla_hours)
        refreshed, source = ctx.refreshed_at(mart)
        date_column = ctx.date_column(mart)
        newest = (one_row(ctx.con, f'select max("{date_column}") from {ctx.table(mart)}')[0]
                  if date_column else None)
        evidence = {"sla_hours": sla, "refreshed_at": _iso(refreshed), "refresh_source": source,
                    "hours_since_refresh": _hours(ctx.now - refreshed) if refreshed else None,
                    "date_column": date_column, "newest_data_date": _iso(newest)}
        if sla is None:
            findings.append(Finding(NAME, mart, "warn", f"{mart} has no SLA (meta.sla_hours or --sla-hours): "
                                    "its freshness is not checked.", evidence))
        elif refreshed is None:
            findings.append(Finding(NAME, mart, "fail", f"{mart}: no refresh time is known ({source}).", evidence))
        elif ctx.now - refreshed > dt.timedelta(hours=sla):
            findings.append(Finding(
                NAME, mart, "fail",
                f"{mart} was last refreshed {_hours(ctx.now - refreshed):.1f} h ago ({refreshed:%a %b %d %H:%M}), "
                f"over its {sla:g} h SLA{_newest(newest)}.", evidence, refreshed + dt.timedelta(hours=sla)))
        else:
            findings.append(Finding(NAME, mart, "ok", f"{mart} was refreshed {_hours(ctx.now - refreshed):.1f} h "
                                    f"ago, within its {sla:g} h SLA{_newest(newest)}.", evidence))
    return findings


def _newest(day) -> str:
    return f"; newest data {day}" if day is not None else ""


def _hours(delta: dt.timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)


def _iso(value) -> str | None:
    return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else (value.isoformat() if value else None)
