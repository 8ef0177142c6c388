"""``run_checks``: every check on one warehouse at one moment, as a report for a terminal, JSON or a DataFrame."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from incidentlab.errors import IncidentLabError
from incidentlab.monitor import remediation as drafted
from incidentlab.monitor.checks import CHECKS, plain, run_one
from incidentlab.monitor.context import Context
from incidentlab.monitor.finding import VERDICTS, Finding, worst
from incidentlab.monitor.history import read_history
from incidentlab.monitor.project import DbtProject
from incidentlab.monitor.warehouse import warehouse_file

EXIT_CODES = {"ok": 0, "skip": 0, "warn": 1, "error": 1, "fail": 2}
USAGE_ERROR = 3  # bad arguments or input, or no check could run: nothing was checked


@dataclass
class Report:
    findings: list[Finding]
    now: dt.datetime
    remediation: dict = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """The worst verdict of the findings (a check that was skipped is not a problem: ok)."""
        return worst("ok" if f.verdict == "skip" else f.verdict for f in self.findings)

    @property
    def exit_code(self) -> int:
        """0 ok, 1 warn (or a check broke), 2 fail, 3 when no check could run: what an orchestrator gates on."""
        if self.findings and all(f.verdict in ("error", "skip") for f in self.findings):
            return USAGE_ERROR
        return EXIT_CODES[self.verdict]

    def to_json(self) -> str:
        return json.dumps({"now": self.now.isoformat(sep=" "), "verdict": self.verdict, "exit_code": self.exit_code,
                           "findings": [f.to_dict() for f in self.findings], "remediation": self.remediation},
                          indent=2, default=str)

    def table(self):
        import pandas as pd

        return pd.DataFrame([(f.check, f.subject, f.verdict, f.message) for f in self.findings],
                            columns=["check", "subject", "verdict", "message"])

    def render(self) -> str:
        """The report for a terminal: each check's findings, worst first within a check, then the draft."""
        lines = [f"incidentlab monitor at {self.now:%a %b %d %Y %H:%M}: {self.verdict.upper()}"]
        for check in dict.fromkeys(f.check for f in self.findings):
            lines.append(f"{check}:")
            for f in sorted((f for f in self.findings if f.check == check),
                            key=lambda f: -VERDICTS.index(f.verdict)):
                lines.append(f"  {f.verdict.upper():<4}  {f.message}")
        return "\n".join(lines + drafted.render(self.remediation))

    def __repr__(self) -> str:  # what a notebook shows for `lab.monitor()`
        return self.render()


def run_checks(
    con: duckdb.DuckDBPyConnection,
    project_dir: Path,
    *,
    now: dt.datetime,
    audit_table: str | None = None,
    sla_hours: float | None = None,
    checks: list[str] | None = None,
    selectors: tuple[str, ...] = (),
    profiles_dir: Path | None = None,
    target: str | None = None,
) -> Report:
    """Run ``checks`` (default: all of ``CHECKS``) on the warehouse ``con`` has open, for dbt project ``project_dir``.

    The run history (see ``history.read_history``: dbt's own record, Elementary's, or ``audit_table``) is read
    up to ``now``. ``sla_hours`` is the SLA of marts without a ``meta.sla_hours``; ``selectors``, the selections
    ``selector_coverage`` checks (default: the latest run's). Each check runs on its own: one that needs what the
    warehouse lacks is a ``skip`` finding, one that breaks an ``error`` finding, each with one plain line.
    """
    unknown = [c for c in checks or [] if c not in CHECKS]
    if unknown:
        raise IncidentLabError(f"no check named {', '.join(unknown)}; the checks are {', '.join(CHECKS)}.")
    project = DbtProject.load(Path(project_dir), warehouse_file(con).name, profiles_dir=profiles_dir, target=target)
    ctx = Context(con, project, now, read_history(con, now, audit_table), sla_hours, selectors=tuple(selectors),
                  run_check=run_one)
    findings = []
    for name in checks or list(CHECKS):
        findings += ctx.result(name)
    try:
        remediation = drafted.draft(ctx)
    except Exception as exc:  # noqa: BLE001 (the findings stand without a draft)
        remediation = {"note": f"no remediation could be drafted: {plain(exc)}"}
    return Report(findings, now, remediation)
