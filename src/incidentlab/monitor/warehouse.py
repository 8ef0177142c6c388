"""What the monitor reads from the warehouse itself: which tables exist, their columns, where the file is."""

from __future__ import annotations

from pathlib import Path

import duckdb

from incidentlab.errors import IncidentLabError

NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
           "FLOAT", "DOUBLE", "REAL")


def one_row(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple:
    """The one row of a query that always returns one (an aggregate without ``group by``)."""
    row = con.execute(sql, params).fetchone()
    if row is None:
        raise IncidentLabError(f"no row from a query that returns one: {sql}")
    return row


def warehouse_file(con: duckdb.DuckDBPyConnection) -> Path:
    """The file ``con`` has open (its name is the catalog name dbt wrote into the views)."""
    path = one_row(con, "select path from duckdb_databases() where database_name = current_database()")[0]
    if not path:
        raise IncidentLabError("the monitor needs a warehouse file, not an in-memory database.")
    return Path(path)


def columns_of(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> dict[str, str]:
    """Column name -> type of ``schema.name`` in the open database, in column order ({} when it does not exist)."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    return dict(rows)


def find_table(con: duckdb.DuckDBPyConnection, table: str) -> tuple[str, dict[str, str]]:
    """``(relation, columns)`` of ``table`` (``name`` or ``schema.name``), wherever it is in the open database."""
    schema, _, name = table.rpartition(".")
    rows = con.execute(
        "select distinct table_schema from information_schema.columns "
        "where table_catalog = current_database() and table_name = ? and (? = '' or table_schema = ?) "
        "order by table_schema",
        [name, schema, schema],
    ).fetchall()
    if not rows:
        raise IncidentLabError(f"the warehouse has no table named {table}; name the audit table with --audit-table.")
    schema = rows[0][0]
    return quoted(schema, name), columns_of(con, schema, name)


def quoted(schema: str, name: str) -> str:
    return f'"{schema}"."{name}"'


def is_numeric(sql_type: str) -> bool:
    return sql_type.upper() in NUMERIC or sql_type.upper().startswith("DECIMAL")


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the open database has a table or view named ``table`` (in any schema)."""
    return bool(con.execute("select 1 from information_schema.tables where table_catalog = current_database() "
                            "and table_name = ? limit 1", [table]).fetchone())
