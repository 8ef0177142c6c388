"""Check ``duration_anomaly``: did a run take far more, or far less, time than the runs before it?"""

from __future__ import annotations

from statistics import mean

from incidentlab.monitor.context import Context
from incidentlab.monitor.finding import Finding

NAME = "duration_anomaly"
TRAILING_RUNS = 5  # N: the baseline is the mean of the previous N green, normal runs
MIN_HISTORY = 3  # fewer previous runs than this: no baseline yet
WARN_RATIO = 1.5  # warn when the ratio is above this or below its inverse
FAIL_RATIO = 2.0  # fail when the ratio is above this or below its inverse (a staging-only run: about 0.28)


def duration_anomaly(ctx: Context) -> list[Finding]:
    """Each run's duration against the trailing mean of the previous ``TRAILING_RUNS`` (5) green runs.

    Method: ratio = duration / mean(duration of the 5 previous runs that were green and not anomalous
    themselves, so a run of drops does not become the new normal). Both directions count: ``fail`` below 1/2 or
    above 2x, ``warn`` below 1/1.5 or above 1.5x; a run with fewer than 3 previous runs has no baseline. Every
    anomalous run that had ended by ``now`` is a finding (fired at its end); when there is none, one ``ok``
    finding for the latest run.
    """
    findings: list[Finding] = []
    baseline: list[float] = []
    latest = None
    for run in ctx.runs:
        if not run.built:
            continue
        normal = baseline[-TRAILING_RUNS:]
        verdict = "ok"
        if len(normal) >= MIN_HISTORY:
            trailing = mean(normal)
            ratio = run.duration_seconds / trailing
            verdict = _verdict(ratio)
            evidence = {"run_id": run.run_id, "duration_seconds": run.duration_seconds,
                        "trailing_mean_seconds": round(trailing, 2), "ratio": round(ratio, 2),
                        "trailing_runs": len(normal), "models_run": run.models_run}
            direction = "less" if ratio < 1 else "more"
            latest = Finding(NAME, run.run_id, verdict,
                             f"{run.run_id} took {run.duration_seconds} s, {ratio:.2f}x the mean of the "
                             f"{len(normal)} runs before it ({trailing:.1f} s): far {direction} than usual."
                             if verdict != "ok" else
                             f"{run.run_id} took {run.duration_seconds} s, {ratio:.2f}x the mean of the "
                             f"{len(normal)} runs before it ({trailing:.1f} s).",
                             evidence, run.ended_at if verdict != "ok" else None)
            if verdict != "ok":
                findings.append(latest)
        if run.green and verdict == "ok":
            baseline.append(run.duration_seconds)
    if not findings:
        findings.append(latest or Finding(NAME, "audit log", "ok",
                                          f"fewer than {MIN_HISTORY} runs so far: no baseline yet."))
    return findings


def _verdict(ratio: float) -> str:
    if ratio > FAIL_RATIO or ratio < 1 / FAIL_RATIO:
        return "fail"
    if ratio > WARN_RATIO or ratio < 1 / WARN_RATIO:
        return "warn"
    return "ok"
