"""dbt's graph as tables (schema dbt_graph) in every built warehouse, read back and checked against dbt."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from incidentlab.datasets import load_scenario, stage_names, variant_names
from incidentlab.datasets import module_names as modules
from incidentlab.graph import selectors, write_graph
from incidentlab.paths import WAREHOUSE_FILE, warehouse_path
from incidentlab.variant import make_variant

MODULE = "wt06_data_stale"
BUILT = [(stage, variant) for variant in (None, *variant_names(MODULE)) for stage in stage_names(MODULE)]
MODELS = [
    ("fct_daily_signups", "marts", "table"),
    ("fct_revenue_daily", "marts", "table"),
    ("stg_events", "staging", "view"),
    ("stg_orders", "staging", "view"),
    ("stg_pipeline_runs", "staging", "view"),
]


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return sorted(con.sql(sql).fetchall())


@pytest.mark.parametrize(("stage", "variant"), BUILT)
def test_every_built_warehouse_holds_the_graph(warehouses, stage, variant):
    con = duckdb.connect(str(warehouse_path(MODULE, stage, variant)), read_only=True)
    models = _rows(con, "select name, folder, materialized from dbt_graph.nodes where resource_type = 'model'")
    # a variant whose dbt project has files of its own (an overlay, or models an accident writes) may add models;
    # none loses one
    made = make_variant(load_scenario(MODULE), variant) if variant is not None else None
    overlay = made is not None and (made.dbt_overlay is not None or bool(made.dbt_files))
    assert set(MODELS) <= set(models) if overlay else models == MODELS
    audit_selectors = {r[0] for r in con.sql("select distinct models_run from raw.raw_pipeline_runs").fetchall()}
    stored = {r[0] for r in con.sql("select distinct selector from dbt_graph.selections").fetchall()}
    assert audit_selectors | set(load_scenario(MODULE).study_selectors) <= stored


@pytest.mark.parametrize("module", modules())
def test_every_node_says_how_it_is_materialized(warehouses, module):
    """A source is `source` (loaded outside dbt), an exposure `exposure`: never a null a student reads as None."""
    con = duckdb.connect(str(warehouse_path(module, stage_names(module)[0])), read_only=True)
    kinds = dict(_rows(con, "select resource_type, string_agg(distinct materialized, ',' order by materialized) "
                            "from dbt_graph.nodes group by resource_type"))
    assert kinds["source"] == "source" and kinds["model"] in ("table", "table,view", "view")
    assert kinds["test"] == "test" and kinds.get("exposure", "exposure") == "exposure"


def test_edges_follow_the_models_refs(warehouses):
    con = duckdb.connect(str(warehouse_path(MODULE, "stale")), read_only=True)
    into_marts = _rows(con, """
        select e.parent, e.child from dbt_graph.edges as e
        join dbt_graph.nodes as n on n.name = e.child
        where n.resource_type = 'model' and n.folder = 'marts'
    """)
    assert into_marts == [("stg_events", "fct_daily_signups"), ("stg_orders", "fct_revenue_daily")]
    assert _rows(con, "select parent from dbt_graph.edges where child = 'assert_freshness'") == [
        ("fct_daily_signups",), ("fct_revenue_daily",)]


def test_selections_are_what_dbt_selects(warehouses):
    con = duckdb.connect(str(warehouse_path(MODULE, "stale")), read_only=True)

    def models(selector: str) -> list[str]:
        return [r[0] for r in _rows(con, f"""
            select s.name from dbt_graph.selections as s join dbt_graph.nodes as n using (name)
            where n.resource_type = 'model' and s.selector = '{selector}'""")]

    staging = ["stg_events", "stg_orders", "stg_pipeline_runs"]
    marts = ["fct_daily_signups", "fct_revenue_daily"]
    assert models("staging.*") == staging
    assert models("marts.*") == models("tag:mart") == marts
    assert models("all") == models("staging.*+") == sorted(marts + staging)
    assert models("+fct_revenue_daily") == ["fct_revenue_daily", "stg_orders"]
    # the incident's blind spot: the freshness test is not among what staging.* selects
    tests = {r[0] for r in con.sql("select name from dbt_graph.selections where selector = 'staging.*'").fetchall()}
    assert "assert_freshness" not in tests


def test_selectors_come_from_the_audit_log_and_remediation():
    found = selectors(load_scenario(MODULE))
    assert found[:3] == ["all", "staging.*", "marts.*"]
    assert len(found) == len(set(found))


def test_write_graph_replaces_the_previous_tables(warehouses, tmp_path):
    copy = tmp_path / WAREHOUSE_FILE
    shutil.copyfile(warehouse_path(MODULE, "stale"), copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("insert into dbt_graph.selections values ('staging.*', 'made_up_model')")
    write_graph(copy, load_scenario(MODULE))
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.sql("select count(*) from dbt_graph.selections where name = 'made_up_model'").fetchone()[0] == 0
        assert con.sql("select count(*) from dbt_graph.nodes").fetchone()[0] > 0
