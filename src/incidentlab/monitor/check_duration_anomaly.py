"""Check ``duration_anomaly``: did a run take far more, or far less, time than the runs before it?"""

from __future__ import annotations

import math
from statistics import mean

from incidentlab.monitor.context import Context
from incidentlab.monitor.finding import Finding

NAME = "duration_anomaly"
TRAILING_RUNS = 5  # N: the baseline is the mean of the previous N green, normal runs
MIN_HISTORY = 3  # fewer previous runs than this: no baseline yet
WARN_RATIO = 1.5  # warn when the ratio is above this or below its inverse
FAIL_RATIO = 2.0  # fail when the ratio is above this or below its inverse (a staging-only run: about 0.28)
MIN_CHANGE_SECONDS = 10.0  # a time within this of the mean is no anomaly: seconds of models' time are noise


def duration_anomaly(ctx: Context, trailing_runs: int = TRAILING_RUNS, warn_ratio: float = WARN_RATIO,
                     fail_ratio: float = FAIL_RATIO) -> list[Finding]:
    """Each run's duration against the trailing mean of the previous ``TRAILING_RUNS`` (5) green runs.

    Method: ratio = duration / mean(duration of the 5 previous runs that were green and not anomalous
    themselves, so a run of drops does not become the new normal). Both directions count: ``fail`` below 1/2 or
    above 2x, ``warn`` below 1/1.5 or above 1.5x; a run with fewer than 3 previous runs has no baseline. For a
    run dbt recorded itself, the duration is the models' summed execution time (dbt's start-up, which dominates
    a small project's wall time, left out) and the number of models executed is compared the same way; the
    worse of the two ratios decides. A time within ``MIN_CHANGE_SECONDS`` (10 s) of its mean is not anomalous,
    whatever its ratio: a small project's models take a second or two, and a busy machine doubles that. Every
    anomalous run that had ended by ``now`` is a finding (fired at its end); when there is none, one ``ok``
    finding for the latest run.
    """
    findings: list[Finding] = []
    baseline: list[dict[str, float]] = []  # the measures of the green, normal runs so far
    latest = None
    for run in ctx.runs:
        if not run.built:
            continue
        measure = _measure(run)
        normal = baseline[-trailing_runs:]
        verdict = "ok"
        if len(normal) >= MIN_HISTORY:
            means = {key: mean(b[key] for b in normal) for key in measure}
            ratios = {key: (value / means[key] if means[key] else 1.0) for key, value in measure.items()}
            telling = [k for k in ratios
                       if k == "models_executed" or abs(measure[k] - means[k]) >= MIN_CHANGE_SECONDS]
            key = max(telling or ratios, key=lambda k: abs(math.log(ratios[k] or 1e-9)))
            ratio, trailing = ratios[key], means[key]
            verdict = ratio_verdict(ratio, warn_ratio, fail_ratio) if key in telling else "ok"
            evidence = {"run_id": run.run_id, "duration_seconds": run.duration_seconds, "measure": key,
                        "value": measure[key], "trailing_mean": round(trailing, 3), "ratio": round(ratio, 2),
                        "trailing_runs": len(normal), "models_run": run.models_run}
            if key == "duration_seconds":
                evidence["trailing_mean_seconds"] = round(trailing, 2)
            what = {"duration_seconds": f"took {run.duration_seconds} s",
                    "models_seconds": f"spent {measure[key]:.2f} s in models",
                    "models_executed": f"executed {measure[key]:g} model(s)"}[key]
            unit = "" if key == "models_executed" else " s"
            direction = "less" if ratio < 1 else "more"
            latest = Finding(NAME, run.run_id, verdict,
                             f"{run.run_id} {what}, {ratio:.2f}x the mean of the {len(normal)} runs before it "
                             f"({trailing:.1f}{unit})" + (f": far {direction} than usual." if verdict != "ok" else "."),
                             evidence, run.ended_at if verdict != "ok" else None)
            if verdict != "ok":
                findings.append(latest)
        if run.green and verdict == "ok":
            baseline.append(measure)
    if not findings:
        findings.append(latest or Finding(NAME, "audit log", "ok",
                                          f"fewer than {MIN_HISTORY} runs so far: no baseline yet."))
    return findings


def _measure(run) -> dict[str, float]:
    """What a run is compared on: its duration (audit log), or its models' time and count (dbt's record)."""
    if run.nodes is None:
        return {"duration_seconds": run.duration_seconds}
    executed = [n for n in run.nodes if n.resource_type == "model" and n.status == "success"]
    return {"models_seconds": run.models_seconds, "models_executed": float(len(executed))}


def ratio_verdict(ratio: float, warn_ratio: float = WARN_RATIO, fail_ratio: float = FAIL_RATIO) -> str:
    if ratio > fail_ratio or ratio < 1 / fail_ratio:
        return "fail"
    if ratio > warn_ratio or ratio < 1 / warn_ratio:
        return "warn"
    return "ok"


def jump_or_drop(ratio: float, verdict: str) -> str:
    """The end of a trend's sentence: ": a jump." or ": a drop." when ``verdict`` is not ok, else "."."""
    return "." if verdict == "ok" else f": a {'jump' if ratio > 1 else 'drop'}."
