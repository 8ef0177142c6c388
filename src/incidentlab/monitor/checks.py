"""The monitor's checks, by name, in the order they run, and how one runs on its own."""

import re
from collections.abc import Callable

from incidentlab.errors import IncidentLabError
from incidentlab.monitor.check_blast_radius import blast_radius
from incidentlab.monitor.check_duration_anomaly import duration_anomaly
from incidentlab.monitor.check_grain import grain
from incidentlab.monitor.check_metric_jump import metric_jump
from incidentlab.monitor.check_reconciliation import reconciliation
from incidentlab.monitor.check_row_count import row_count
from incidentlab.monitor.check_run_coverage import run_coverage
from incidentlab.monitor.check_selector_coverage import selector_coverage
from incidentlab.monitor.check_staleness import staleness
from incidentlab.monitor.finding import Finding, NotChecked

CHECKS: dict[str, Callable[..., list[Finding]]] = {
    "staleness": staleness,
    "duration_anomaly": duration_anomaly,
    "run_coverage": run_coverage,
    "selector_coverage": selector_coverage,
    "grain": grain,
    "row_count": row_count,
    "metric_jump": metric_jump,
    "reconciliation": reconciliation,
    "blast_radius": blast_radius,  # last: it reads the others' findings
}
NEEDS_HISTORY = ("duration_anomaly", "run_coverage", "row_count")


def run_one(name: str, ctx) -> list[Finding]:
    """Check ``name``'s findings; a check that cannot run is one ``skip`` finding, one that breaks one ``error``
    finding, with one plain line (never a traceback)."""
    if name in NEEDS_HISTORY and ctx.history.source is None:
        return [Finding(name, "run history", "skip", f"not checked: {ctx.history.none_note}.")]
    try:
        return CHECKS[name](ctx)
    except NotChecked as exc:
        return [Finding(name, "project", "skip", f"not checked: {exc}")]
    except Exception as exc:  # noqa: BLE001 (each check is isolated: the report goes on)
        return [Finding(name, "check", "error", f"{name} could not run: {_hint(plain(exc))}")]


def _hint(line: str) -> str:
    """What to do when the warehouse is a copy under another name: dbt-duckdb's views name the file's catalog."""
    catalog = re.search(r'Catalog "([^"]+)" does not exist', line)
    if not catalog:
        return line
    return (f'the warehouse\'s views read catalog "{catalog[1]}", the name of the file dbt built them in: open '
            f'{catalog[1]}.duckdb, or give its copy that name ({line})')


def plain(exc: BaseException) -> str:
    """An exception as one line: its message's first line, without dbt's or DuckDB's class prefixes."""
    text = str(getattr(exc, "detail", None) or exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if isinstance(exc, IncidentLabError) else f"{type(exc).__name__}: {line}"
