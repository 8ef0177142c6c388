"""The ``incidentlab`` command: a build that works, and errors as one clear line with exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from project_copies import copy_project, csv_path, digest, existing_warehouse, held_open, leftovers
from warehouse_copies import MODULE

from incidentlab.cli import main
from incidentlab.paths import warehouse_path

COMMAND = Path(sys.executable).with_name("incidentlab")


def run_cli(*args: str, root: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if root is not None:
        env["INCIDENTLAB_ROOT"] = str(root)
    return subprocess.run([str(COMMAND), *args], capture_output=True, text=True, env=env, timeout=300)


def assert_clean_failure(done: subprocess.CompletedProcess, *fragments: str) -> None:
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("incidentlab: error: ")
    assert len(done.stderr.strip().splitlines()) == 1
    for fragment in fragments:
        assert fragment in done.stderr


def test_bad_csv_exits_2_without_traceback(warehouses, tmp_path):
    root = copy_project(tmp_path / "project")
    csv_path(root, "raw_events").unlink()
    target = existing_warehouse(tmp_path / "out")
    before = digest(target)
    done = run_cli("build", MODULE, "--db", str(target), "--quiet", root=root)
    assert_clean_failure(done, "datasets/wt06_data_stale/raw_events.csv: file is missing")
    assert digest(target) == before
    assert leftovers(target.parent) == []


def test_locked_warehouse_exits_2_without_traceback(warehouses, tmp_path):
    target = existing_warehouse(tmp_path / "out")
    before = digest(target)
    with held_open(target):
        done = run_cli("build", MODULE, "--db", str(target), "--quiet")
    assert_clean_failure(done, f"{target} is in use by another process", "Nothing was changed.")
    assert digest(target) == before


def test_unknown_module_names_the_known_ones():
    done = run_cli("build", "wt99_nope", "--quiet")
    assert_clean_failure(done, "no module named 'wt99_nope'", MODULE)


def test_all_refuses_db(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["build", MODULE, "--all", "--db", "somewhere/acme.duckdb"])
    assert caught.value.code == 2
    assert "--all builds into warehouses/" in capsys.readouterr().err


def _contents(path) -> dict:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.sql("select table_schema, table_name from information_schema.tables").fetchall()
        return {(s, t): sorted(map(str, con.sql(f'select * from "{s}"."{t}"').fetchall())) for s, t in tables}


@pytest.mark.slow
def test_build_writes_the_warehouse(warehouses, tmp_path, capsys):
    target = tmp_path / "new" / "acme.duckdb"
    assert main(["build", MODULE, "--stage", "fixed", "--db", str(target), "--quiet"]) == 0
    assert capsys.readouterr().out == f"built {target}\n"
    with duckdb.connect(str(target), read_only=True) as con:
        assert str(con.sql("select max(order_date) from fct_revenue_daily").fetchone()[0]) == "2024-02-11"
    assert leftovers(target.parent) == []
    # The session's fixed warehouse was built from its stale one (build_all): the same as this full replay.
    assert _contents(target) == _contents(warehouse_path(MODULE, "fixed"))


def test_unknown_variant_names_the_known_ones():
    done = run_cli("build", MODULE, "--variant", "nope", "--quiet")
    assert_clean_failure(done, f"{MODULE} has no variant named 'nope'",
                         "Known: shifted, messy_runs, mart_gaps, edge_runs")


def test_all_refuses_variant(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["build", MODULE, "--all", "--variant", "shifted"])
    assert caught.value.code == 2
    assert "--all builds every variant" in capsys.readouterr().err


@pytest.mark.slow
def test_build_variant_writes_its_own_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INCIDENTLAB_WAREHOUSES", str(tmp_path))
    assert main(["build", MODULE, "--stage", "fixed", "--variant", "mart_gaps", "--quiet"]) == 0
    target = tmp_path / MODULE / "fixed-mart_gaps" / "acme.duckdb"
    assert capsys.readouterr().out == f"built {target}\n"
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.sql("select count(*) from dbt_graph.nodes where name = 'rpt_returns_daily'").fetchone()[0] == 1
    assert sorted(p.name for p in target.parent.iterdir()) == ["acme.duckdb"]
