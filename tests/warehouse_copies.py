"""Ways for tests to reach the built warehouses without changing them."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb

from incidentlab.datasets import load_scenario
from incidentlab.dbt_runner import invoke
from incidentlab.paths import WAREHOUSE_FILE, warehouse_path

MODULE = "wt06_data_stale"


def read_only(stage: str, variant: str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a built warehouse (the ``warehouses`` fixture must have run)."""
    return duckdb.connect(str(warehouse_path(MODULE, stage, variant)), read_only=True)


def copy_of(stage: str, folder: Path, variant: str | None = None) -> Path:
    """A private copy of a built warehouse in ``folder``, under the file name dbt-duckdb's views expect."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / WAREHOUSE_FILE
    shutil.copyfile(warehouse_path(MODULE, stage, variant), target)
    return target


def scenario_now() -> dt.datetime:
    return load_scenario(MODULE).now


def dbt(args: list[str], warehouse: Path, now: dt.datetime | None = None):
    """``dbt <args>`` in-process on ``warehouse``, the scenario clock at ``now`` (default: the scenario's now)."""
    scenario = load_scenario(MODULE)
    return invoke(args, warehouse=warehouse, now=now or scenario.now, project=scenario.dbt_project)


def statuses(result) -> dict[str, str]:
    """unique_id -> status of every node a dbt command ran."""
    return {node.node.unique_id: str(node.status) for node in result.result.results}
