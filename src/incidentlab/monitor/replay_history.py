"""The replay on a user's own project: from the recorded run history, when would each check that reads history
first have fired, against when a human noticed (``--noticed-at``), and how sensitive is that to its thresholds?"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from incidentlab.errors import IncidentLabError
from incidentlab.monitor.check_duration_anomaly import FAIL_RATIO, TRAILING_RUNS, duration_anomaly
from incidentlab.monitor.check_row_count import row_count
from incidentlab.monitor.check_run_coverage import run_coverage
from incidentlab.monitor.finding import ALARMS, NotChecked

RATIOS = (1.25, 1.5, 2.0, 3.0)  # the fail ratio tried, either way
BASELINES = (3, 5, 10)  # the trailing runs tried


@dataclass
class HistoryReplay:
    noticed_at: dt.datetime
    source: str
    first_fired: dict[str, tuple[dt.datetime, str] | None]
    sensitivity: list[dict] = field(default_factory=list)  # duration_anomaly per (fail_ratio, trailing_runs)

    def to_dict(self) -> dict:
        return {"noticed_at": self.noticed_at.isoformat(sep=" "), "history": self.source,
                "checks": {c: ({"first_fired_at": f[0].isoformat(sep=" "), "run_id": f[1],
                                "hours_gained": _gained(self.noticed_at, f[0])} if f else None)
                           for c, f in self.first_fired.items()},
                "duration_sensitivity": self.sensitivity}

    def render(self) -> str:
        lines = [f"a human noticed {self.noticed_at:%a %b %d %Y %H:%M}; replayed from the {self.source}, "
                 "the checks that read the run history would first have fired:"]
        for check, fired in self.first_fired.items():
            lines.append(f"  {check:<18} " + (f"{_when(self.noticed_at, fired[0])}  (run {fired[1]})"
                                                if fired else "never"))
        lines.append("duration_anomaly's sensitivity (fail beyond the ratio either way, baseline of N runs):")
        for row in self.sensitivity:
            when = (_when(self.noticed_at, dt.datetime.fromisoformat(row["first_fired_at"]))
                    if row["first_fired_at"] else "never")
            lines.append(f"  ratio {row['fail_ratio']:<5g} baseline {row['trailing_runs']:<3}  {when}")
        return "\n".join(lines)


def _when(noticed: dt.datetime, fired: dt.datetime) -> str:
    """When a check fired, and how long before (or after) the human noticed: "Mon Mar 09 02:10  30.8 h before"."""
    hours = _gained(noticed, fired)
    return f"{fired:%a %b %d %H:%M}  {abs(hours):.1f} h {'before' if hours >= 0 else 'after'} it was noticed"


def _gained(noticed: dt.datetime, fired: dt.datetime) -> float:
    return round((noticed - fired).total_seconds() / 3600, 1)


def _first(findings) -> tuple[dt.datetime, str] | None:
    fired = [(f.fired_at, f.evidence.get("run_id", f.subject)) for f in findings
             if f.verdict in ALARMS and f.fired_at is not None]
    return min(fired) if fired else None


def replay_history(ctx, noticed_at: dt.datetime) -> HistoryReplay:
    """Each history check over the recorded runs up to ``noticed_at`` (each run judged on the runs before it)."""
    if ctx.history.source is None:
        raise IncidentLabError(f"--replay needs the run history; {ctx.history.none_note}.")
    runs = [r for r in ctx.runs if r.ended_at <= noticed_at]
    if not runs:
        raise IncidentLabError(f"no recorded run had ended by {noticed_at:%Y-%m-%d %H:%M} (--noticed-at).")
    ctx = replace(ctx, history=replace(ctx.history, runs=runs), results={})
    first = {"duration_anomaly": _first(duration_anomaly(ctx)), "run_coverage": _first(run_coverage(ctx))}
    counts = None
    for i in range(len(runs)):  # row_count judges a model's latest run: judge each prefix of the history
        step = replace(ctx, history=replace(ctx.history, runs=runs[: i + 1]), results={})
        try:
            counts = _first(row_count(step))
        except NotChecked:
            break
        if counts:
            break
    first["row_count"] = counts
    sensitivity = []
    for ratio in RATIOS:
        for trailing in BASELINES:
            fired = _first(duration_anomaly(ctx, trailing_runs=trailing, warn_ratio=ratio,
                                            fail_ratio=ratio))
            sensitivity.append({"fail_ratio": ratio, "trailing_runs": trailing,
                                "first_fired_at": fired[0].isoformat(sep=" ") if fired else None,
                                "run_id": fired[1] if fired else None,
                                "hours_gained": _gained(noticed_at, fired[0]) if fired else None,
                                "default": (ratio, trailing) == (FAIL_RATIO, TRAILING_RUNS)})
    return HistoryReplay(noticed_at, ctx.history.source, first, sensitivity)
