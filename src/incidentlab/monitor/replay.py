"""The incident replayed with the monitor on: when would each check first have fired, and how much earlier than
the human who noticed?"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from incidentlab import temp_folders
from incidentlab.errors import DatasetError
from incidentlab.paths import WAREHOUSE_FILE


@dataclass
class Replay:
    module: str
    noticed_at: dt.datetime
    first_fired: dict[str, tuple[dt.datetime, str] | None]  # check -> (when the monitor said so, after which run)
    verdicts: list[dict] = field(default_factory=list)  # one row per run and check: run_id, checked_at, check, verdict

    def table(self):
        """One row per check: ``check, first_fired_at, run_id, noticed_at, hours_gained``."""
        import pandas as pd

        rows = []
        for check, fired in self.first_fired.items():
            at, run_id = fired if fired else (None, None)
            gained = round((self.noticed_at - at).total_seconds() / 3600, 1) if at else None
            rows.append((check, at, run_id, self.noticed_at, gained))
        return pd.DataFrame(rows, columns=["check", "first_fired_at", "run_id", "noticed_at", "hours_gained"])

    def render(self) -> str:
        lines = [f"{self.module}: a human noticed {self.noticed_at:%a %b %d %Y %H:%M}; "
                 "the monitor, run after every run, would first have fired:",
                 f"  {'check':<18} {'first fired':<18} {'after run':<10} {'hours gained':>12}"]
        for check, fired in self.first_fired.items():
            if fired is None:
                lines.append(f"  {check:<18} {'never':<18} {'':<10} {'':>12}")
            else:
                gained = (self.noticed_at - fired[0]).total_seconds() / 3600
                lines.append(f"  {check:<18} {fired[0]:%a %b %d %H:%M}   {fired[1]:<10} {gained:>12.1f}")
        return "\n".join(line.rstrip() for line in lines)

    def __repr__(self) -> str:
        return self.render()


def replay(module: str, *, sla_hours: float | None = None) -> Replay:
    """Replay ``module``'s incident (its first stage) into a temporary warehouse, running every check after each run.

    After each run of the audit log, the warehouse is brought to the run's end (the raw rows landed by then, the
    audit row of the run included) and ``run_checks`` runs at that moment. A check fires at the first run after
    which it has a ``warn`` or ``fail`` finding. The moment a human noticed is ``noticed_at`` in the module's
    ``scenario.toml``.
    """
    from incidentlab.build import build, stand_at
    from incidentlab.datasets import load_scenario
    from incidentlab.monitor.checks import CHECKS
    from incidentlab.monitor.finding import worst_alarm
    from incidentlab.monitor.report import run_checks

    scenario = load_scenario(module)
    if scenario.noticed_at is None:
        raise DatasetError(f"datasets/{module}/scenario.toml has no `noticed_at` (when a human noticed the "
                           "incident); add it to replay the incident with the monitor on.")
    ends = {run["run_id"]: run["run_date"] + dt.timedelta(seconds=run["duration_seconds"] or 0)
            for run in scenario.runs()}  # the checks run when the run has ended
    first: dict[str, tuple[dt.datetime, str] | None] = dict.fromkeys(CHECKS)
    verdicts: list[dict] = []

    def watch(con, replayed, run_id, moment):
        checked_at = ends[run_id]
        stand_at(con, replayed, checked_at)
        report = run_checks(con, replayed.dbt_project, now=checked_at, audit_table=replayed.audit_table,
                            sla_hours=sla_hours)
        for check in CHECKS:
            verdict = worst_alarm(f.verdict for f in report.findings if f.check == check)
            verdicts.append({"run_id": run_id, "checked_at": checked_at, "check": check, "verdict": verdict})
            if verdict != "ok" and first[check] is None:
                first[check] = (checked_at, run_id)

    with temp_folders.folder("replay") as folder:
        build(module, db=folder / WAREHOUSE_FILE, after_run=watch,
              project_at=_project_before_deploy(scenario, folder / "dbt-before-deploy"))
    return Replay(module, scenario.noticed_at, first, verdicts)


def _project_before_deploy(scenario, folder: Path):
    """``project_at`` for the build: the project of ``stage_before_deploy`` until the deploy, then the module's."""
    from incidentlab.build import stage_project

    spec = scenario.monitor_replay
    if not spec:
        return None
    table = scenario.tables[spec["deploys_table"]]
    row = next((r for r in table.rows if r[table.index(table.primary_key)] == spec["deploy"]), None)
    if row is None:
        raise DatasetError(f"datasets/{scenario.module}/scenario.toml: monitor_replay names deploy "
                           f"{spec['deploy']!r}, which {spec['deploys_table']} does not hold.")
    deployed_at = row[table.index("deployed_at")]
    before = stage_project(scenario, scenario.check_stage(spec["stage_before_deploy"]), None, folder)
    return lambda moment: before if moment < deployed_at else None
