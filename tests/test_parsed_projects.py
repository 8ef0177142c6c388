"""dbt's parse of a project, stored by content: what a new kernel loads instead of parsing again."""

from __future__ import annotations

import shutil

import pytest

from incidentlab import dbt_runner, parsed_projects
from incidentlab.build import copy_project, stage_project
from incidentlab.datasets import load_scenario
from incidentlab.paths import WAREHOUSE_FILE, warehouse_path

MODULE = "wt06_data_stale"


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty store of this test's own."""
    monkeypatch.setattr(parsed_projects, "store", lambda: tmp_path / "store")
    return tmp_path / "store"


def project_copy(folder):
    return copy_project(load_scenario(MODULE).dbt_project, folder)


def key(project):
    return parsed_projects.key(project, project, WAREHOUSE_FILE)


def test_the_key_is_the_content_not_the_folder(tmp_path):
    one, two = project_copy(tmp_path / "one"), project_copy(tmp_path / "two")
    assert key(one) == key(two)
    (two / "models" / "staging" / "stg_orders.sql").write_text("select 1 as order_id\n")
    assert key(one) != key(two)
    assert key(one) != parsed_projects.key(one, one, "other.duckdb")  # the catalog's name is the file's
    (one / "profiles.yml").write_text((one / "profiles.yml").read_text() + "\n# threads: 2\n")
    assert key(one) != key(project_copy(tmp_path / "three"))


@pytest.mark.parametrize("module", ["wt05_fan_out", MODULE])
def test_a_kernels_copy_has_the_key_of_the_modules_project_the_build_parsed(module, tmp_path):
    """Its packages.yml rewritten, its stages' overlays left out: what dbt parses is the same."""
    scenario = load_scenario(module)
    copy = stage_project(scenario, scenario.first_stage, None, tmp_path / "dbt")
    assert (copy / "packages.yml").read_text() != (scenario.dbt_project / "packages.yml").read_text()
    assert key(copy) == key(scenario.dbt_project)


def test_nothing_stored_or_a_damaged_file_is_parsed_again(store, tmp_path):
    assert parsed_projects.load("0" * 32, tmp_path / "target") is None
    store.mkdir(parents=True)
    (store / f"{'1' * 32}.msgpack").write_bytes(b"\x93not a manifest")
    assert parsed_projects.load("1" * 32, tmp_path / "target") is None


def run_ls(project, folder):
    warehouse = folder / WAREHOUSE_FILE
    shutil.copyfile(warehouse_path(MODULE, "stale"), warehouse)
    result = dbt_runner.invoke(["ls", "--select", "marts.*"], warehouse=warehouse, now=load_scenario(MODULE).now,
                               project=project)
    return sorted(result.result)


def test_a_second_copy_loads_the_first_ones_parse_and_dbt_runs_on_it(warehouses, store, tmp_path, monkeypatch):
    dbt_runner.forget_parses()
    first = run_ls(project_copy(tmp_path / "a" / "dbt"), tmp_path / "a")
    assert len(list(store.glob("*.msgpack"))) == 1

    loaded = []
    real_load = parsed_projects.load
    monkeypatch.setattr(parsed_projects, "load", lambda *a: loaded.append(real_load(*a)) or loaded[-1])
    dbt_runner.forget_parses()  # a new kernel
    second = run_ls(project_copy(tmp_path / "b" / "dbt"), tmp_path / "b")
    assert loaded and loaded[0] is not None and second == first and "acme.marts.fct_revenue_daily" in second


def test_a_changed_project_is_parsed_not_loaded(warehouses, store, tmp_path):
    dbt_runner.forget_parses()
    run_ls(project_copy(tmp_path / "a" / "dbt"), tmp_path / "a")
    changed = project_copy(tmp_path / "b" / "dbt")
    (changed / "models" / "marts" / "fct_probe.sql").write_text("select 1 as probe\n")
    dbt_runner.forget_parses()
    assert "acme.marts.fct_probe" in run_ls(changed, tmp_path / "b")
    assert len(list(store.glob("*.msgpack"))) == 2


def test_the_store_keeps_the_most_recently_used_parses(store, tmp_path, monkeypatch):
    import os

    monkeypatch.setattr(parsed_projects, "KEPT", 2)
    target = tmp_path / "target"
    target.mkdir()
    (target / parsed_projects.SAVED).write_bytes(b"a parse")
    for used, name in ((1000, "c" * 32), (2000, "b" * 32)):  # c used long ago, b later
        parsed_projects.save(name, target)
        os.utime(store / f"{name}.msgpack", (used, used))
    parsed_projects.save("a" * 32, target)
    assert sorted(p.stem[0] for p in store.glob("*.msgpack")) == ["a", "b"]
