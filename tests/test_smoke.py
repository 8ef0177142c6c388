import duckdb

from incidentlab.paths import warehouse_path


def test_stale_warehouse_has_frozen_marts(warehouses):
    con = duckdb.connect(str(warehouse_path("wt06_data_stale", "stale")), read_only=True)
    assert str(con.sql("select max(order_date) from fct_revenue_daily").fetchone()[0]) == "2024-02-08"
