"""The monitor's checks, by name, in the order they run."""

from collections.abc import Callable

from incidentlab.monitor.check_blast_radius import blast_radius
from incidentlab.monitor.check_duration_anomaly import duration_anomaly
from incidentlab.monitor.check_grain import grain
from incidentlab.monitor.check_reconciliation import reconciliation
from incidentlab.monitor.check_run_coverage import run_coverage
from incidentlab.monitor.check_selector_coverage import selector_coverage
from incidentlab.monitor.check_staleness import staleness
from incidentlab.monitor.finding import Finding

CHECKS: dict[str, Callable[..., list[Finding]]] = {
    "staleness": staleness,
    "duration_anomaly": duration_anomaly,
    "run_coverage": run_coverage,
    "selector_coverage": selector_coverage,
    "grain": grain,
    "reconciliation": reconciliation,
    "blast_radius": blast_radius,  # last: it reads the others' findings
}
