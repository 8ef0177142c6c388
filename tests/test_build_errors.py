"""Bad input stops the replay with an error that says where and what to do, and the existing warehouse survives."""

from __future__ import annotations

import re

import pytest
from project_copies import copy_project, csv_path, digest, edit_line, existing_warehouse, held_open, leftovers
from warehouse_copies import MODULE

from incidentlab.build import build
from incidentlab.errors import DatasetError, DbtError, IncidentLabError, WarehouseLockedError

ORDERS = "datasets/wt06_data_stale/raw_orders.csv"


@pytest.fixture
def root(tmp_path, monkeypatch):
    folder = copy_project(tmp_path / "project")
    monkeypatch.setenv("INCIDENTLAB_ROOT", str(folder))
    return folder


@pytest.fixture
def target(warehouses, tmp_path):
    return existing_warehouse(tmp_path / "out")


def failed_build(target, error: type[IncidentLabError], stage: str = "stale", variant: str | None = None) -> str:
    """Build over ``target``, expecting ``error``; check nothing was lost or left behind; return the message."""
    before = digest(target)
    with pytest.raises(error) as caught:
        build(MODULE, stage, target, variant=variant)
    assert digest(target) == before
    assert leftovers(target.parent) == []
    return str(caught.value)


def test_missing_csv(root, target):
    csv_path(root, "raw_orders").unlink()
    message = failed_build(target, DatasetError)
    assert f"{ORDERS}: file is missing" in message
    assert "git checkout" in message


def test_value_not_of_its_type(root, target):
    edit_line(csv_path(root, "raw_orders"), 5, lambda line: line.replace("107.90", "107.9O"))
    message = failed_build(target, DatasetError)
    assert message.startswith(f"{ORDERS}, line 5, column amount: '107.9O' is not a valid decimal(10,2)")


def test_date_not_a_date(root, target):
    edit_line(csv_path(root, "raw_events"), 3, lambda line: line.replace("2024-01-02", "2024-02-30", 1))
    message = failed_build(target, DatasetError)
    assert message.startswith("datasets/wt06_data_stale/raw_events.csv, line 3, column event_date: '2024-02-30'")


def test_wrong_header(root, target):
    edit_line(csv_path(root, "raw_orders"), 1, lambda line: line.replace("amount", "amt"))
    message = failed_build(target, DatasetError)
    assert message.startswith(f"{ORDERS}, line 1: the header must be order_id,customer_id,order_date,amount,")
    assert "found order_id,customer_id,order_date,amt," in message


def test_wrong_field_count(root, target):
    edit_line(csv_path(root, "raw_orders"), 7, lambda line: line + ",extra")
    message = failed_build(target, DatasetError)
    assert message.startswith(f"{ORDERS}, line 7: expected 6 fields, found 7.")


def test_duplicate_key(root, target):
    edit_line(csv_path(root, "raw_orders"), 4, lambda line: re.sub(r"^\d+,", "2,", line))
    message = failed_build(target, DatasetError)
    assert message.startswith(f"{ORDERS}, line 4: order_id 2 already appears on line 3")


@pytest.mark.slow
def test_broken_model_mid_replay(root, target):
    # valid SQL that fails only once February's orders have landed: the first runs succeed, run_005 does not
    (root / "dbt" / MODULE / "models" / "marts" / "fct_broken.sql").write_text(
        "select * from {{ ref('stg_orders') }}\n"
        "where case when order_date >= date '2024-02-01' then error('corrupt order') else true end\n",
        encoding="utf-8",
    )
    message = failed_build(target, DbtError)
    assert message.startswith("replaying run_005 (2024-02-02 18:12:57): `dbt run` failed: fct_broken: error")
    assert "corrupt order" in message


def test_locked_warehouse(target):
    before = digest(target)
    with held_open(target), pytest.raises(WarehouseLockedError) as caught:
        build(MODULE, "stale", target)
    message = str(caught.value)
    assert message.startswith(f"{target} is in use by another process")
    assert "Shut down the Jupyter kernel" in message and "--db PATH" in message
    assert digest(target) == before
    assert leftovers(target.parent) == []


def edit_scenario(root, old: str, new: str) -> None:
    manifest = root / "datasets" / MODULE / "scenario.toml"
    text = manifest.read_text(encoding="utf-8")
    assert old in text
    manifest.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_unknown_variant_names_the_known_ones(target):
    message = failed_build(target, DatasetError, variant="nope")
    assert message == (f"{MODULE} has no variant named 'nope'. "
                       "Known: shifted, messy_runs, mart_gaps, edge_runs, accidents.")


def test_variant_name_must_be_an_identifier(root, target):
    edit_scenario(root, 'name = "messy_runs"', 'name = "messy runs"')
    message = failed_build(target, DatasetError, variant="shifted")
    assert "variant 2 needs a name of lowercase letters, digits and _; found 'messy runs'" in message


def test_unknown_variant_key(root, target):
    edit_scenario(root, "shift_days = 161", "shift_dayz = 161")
    message = failed_build(target, DatasetError, variant="messy_runs")
    assert message.startswith(f"variant 'messy_runs' of {MODULE}: unknown key(s) shift_dayz.")


def test_row_change_of_a_row_the_table_lacks(root, target):
    edit_scenario(root, "29 = { _loaded_at", "9999 = { _loaded_at")
    message = failed_build(target, DatasetError, variant="messy_runs")
    assert message == "row_changes names rows raw_orders does not have: 9999"


def test_fix_before_the_last_run(root, target):
    edit_scenario(root, "fix_hours_before_now = 2.5", "fix_hours_before_now = 5")
    message = failed_build(target, DatasetError, stage="fixed", variant="messy_runs")
    assert "the remediation would run at 2024-07-22 04:00:00, before the last run of the audit log ended" in message


@pytest.mark.slow
def test_broken_overlay_model_leaves_nothing_behind(root, target):
    overlay = root / "datasets" / MODULE / "variants" / "mart_gaps" / "dbt" / "models" / "marts"
    (overlay / "fct_broken.sql").write_text("select error('broken overlay') as x\n", encoding="utf-8")
    message = failed_build(target, DbtError, variant="mart_gaps")
    assert message.startswith("replaying run_001 (2024-11-11 18:11:55): `dbt run` failed: fct_broken: error")
    assert not (root / "dbt" / MODULE / "models" / "marts" / "fct_broken.sql").exists()
