"""The replay with the monitor on: each check first fires at the run the audit log says, hours before a human.

The expected runs are computed from the built warehouses (audit log, dbt's graph, deploy log) and the project's
YAML; the hours gained from those runs' ends and the scenario's ``noticed_at``.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from monitor_audit import audit_runs, first_run_past_sla, mart_slas

from incidentlab.datasets import load_scenario
from incidentlab.monitor import replay
from incidentlab.paths import warehouse_path

pytestmark = pytest.mark.slow  # each replays an incident's dbt runs


def _audit(module: str) -> tuple[list[dict], duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(warehouse_path(module, load_scenario(module).first_stage)), read_only=True)
    return audit_runs(con), con


def _first_fired(result) -> dict:
    """check -> (run_id, hours gained), None for a check that never fired."""
    return {row.check: None if pd.isna(row.run_id) else (row.run_id, row.hours_gained)
            for row in result.table().itertuples()}


def _gained(noticed, run) -> float:
    return round((noticed - run["ended_at"]).total_seconds() / 3600, 1)


def test_wt06_checks_fire_at_the_first_phantom_run_and_past_the_sla(warehouses):
    module = "wt06_data_stale"
    runs, con = _audit(module)
    con.close()
    noticed = load_scenario(module).noticed_at
    phantom = next(run for run in runs if not run["reaches_marts"])
    late = runs[first_run_past_sla(runs, mart_slas(module))[0]]

    result = replay(module)
    fired = _first_fired(result)
    for check in ("duration_anomaly", "run_coverage", "selector_coverage", "blast_radius"):
        assert fired[check] == (phantom["run_id"], _gained(noticed, phantom)), check
    assert fired["staleness"] == (late["run_id"], _gained(noticed, late))
    assert fired["grain"] is None and fired["reconciliation"] is None
    assert f"{_gained(noticed, phantom):.1f}" in result.render()


def test_wt05_grain_and_reconciliation_fire_at_the_first_run_after_the_deploy(warehouses):
    module = "wt05_fan_out"
    runs, con = _audit(module)
    deployed = con.execute("select deployed_at from raw.raw_deploys where contains(models_changed, 'stg_orders')"
                           ).fetchall()
    con.close()
    assert len(deployed) == 1
    first_bad = next(run for run in runs if run["run_date"] > deployed[0][0])
    noticed = load_scenario(module).noticed_at

    fired = _first_fired(replay(module))
    for check in ("grain", "reconciliation", "blast_radius", "duration_anomaly"):
        assert fired[check] == (first_bad["run_id"], _gained(noticed, first_bad)), check
    assert 0 < fired["grain"][1] < 24
    assert fired["staleness"] is None and fired["run_coverage"] is None
