"""One warehouse, worked on by two dbt projects in turn (a replay deploys the fix as the incident's project's
successor): the second is parsed as itself, never as a change to the first."""

from __future__ import annotations

import shutil

from incidentlab.build import stage_project
from incidentlab.datasets import load_scenario
from incidentlab.dbt_runner import failures, invoke
from incidentlab.paths import WAREHOUSE_FILE, warehouse_path

MODULE = "wt05_fan_out"


def test_the_fixed_project_builds_after_the_incidents_on_the_same_warehouse(warehouses, tmp_path):
    """The fixed project adds stg_order_items and a unit test of fct_orders that reads it; parsed as a change to
    the incident's project (dbt's partial parsing from the other project's state), the unit test lost it."""
    scenario = load_scenario(MODULE)
    warehouse = tmp_path / WAREHOUSE_FILE
    shutil.copyfile(warehouse_path(MODULE, scenario.first_stage), warehouse)
    incident = stage_project(scenario, scenario.first_stage, None, tmp_path / "dbt")
    fixed = stage_project(scenario, "fixed", None, tmp_path / "dbt-fixed")

    first = invoke(["run", "--select", "stg_orders"], warehouse=warehouse, now=scenario.now, project=incident)
    assert first.success
    moment, remediation = scenario.remediation_steps()[0]  # as the replay deploys the fix, then runs it
    then = invoke(remediation, warehouse=warehouse, now=moment, project=fixed)
    assert then.exception is None and then.success, failures(then)
    assert "test_orders_get_customer_and_week" in {r.node.name for r in then.result.results}
