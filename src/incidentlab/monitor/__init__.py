"""The incident monitor: checks that read a dbt project's own artifacts and its warehouse, and say what is wrong.

    from incidentlab.monitor import run_checks
    report = run_checks(con, "path/to/dbt_project", now=datetime.now())
    print(report.render()); report.exit_code   # 0 ok, 1 warn, 2 fail

Each check is a function of one file here (its docstring states its method) returning ``Finding``s. ``replay``
steps through a module's incident run by run and records when each check would first have fired.
"""

from incidentlab.monitor.checks import CHECKS
from incidentlab.monitor.finding import Finding
from incidentlab.monitor.replay import Replay, replay
from incidentlab.monitor.report import Report, run_checks

__all__ = ["CHECKS", "Finding", "Replay", "Report", "replay", "run_checks"]
