"""The allow-list of SQL: what an answer may hold is read from DuckDB's parse tree, and each class of what it may
not hold is refused with one sentence that names it. The key matcher compares parse trees, not texts."""

from __future__ import annotations

import pytest

from incidentlab.checking.sql_allowlist import Catalog, Refused, check_allowed
from incidentlab.grading.key_match import holds_key

CATALOG = Catalog("acme", frozenset({("main", "stg_orders"), ("main", "stg_pipeline_runs"),
                                     ("raw", "raw_orders")}), frozenset({"scenario_now"}))

ALLOWED = [
    "select count(*) as n from stg_orders",
    "from stg_orders",
    "select * from raw.raw_orders o join stg_orders s on s.order_id = o.id where o.status in ('a', 'b')",
    "with a as (select * from stg_orders), b as (select * from a) select count(*) from b",
    "with recursive r as (select 1 as i union all select i + 1 from r where i < 3) select * from r, stg_orders",
    "select order_id from stg_orders union all select id from raw.raw_orders except select 1",
    "select row_number() over (partition by status order by order_id) as rn, lag(order_id) over () from stg_orders",
    "select (select max(order_id) from stg_orders) as m, * from stg_orders where exists (select 1 from raw.raw_orders)",
    "select cast(order_id as varchar), order_id::int, case when true then 1 end, scenario_now() from stg_orders",
    "select date_trunc('day', scenario_now()) - interval 1 day as d, coalesce(null, 1) from acme.main.stg_orders",
    "select count(*) filter (where status like 'x%') from acme.stg_orders qualify true",
    "select * from stg_orders using sample 10%",
]


@pytest.mark.parametrize("sql", ALLOWED)
def test_what_an_analyst_writes_is_allowed(sql):
    assert check_allowed(sql, CATALOG)


def test_the_tables_read_are_the_warehouse_tables_not_the_ctes():
    sql = "with stg_orders as (select * from raw.raw_orders) select * from stg_orders, acme.stg_pipeline_runs"
    assert check_allowed(sql, CATALOG) == {("raw", "raw_orders"), ("main", "stg_pipeline_runs")}
    assert check_allowed("select 1 as x", CATALOG) == set()


# One case per class of what is refused, with the words its sentence must hold.
REFUSED = [
    ("table function that changes the connection",
     "select * from enable_logging('QueryLog', storage='file', storage_path='/x'), (select count(*) from stg_orders)",
     "table function `enable_logging(…)`"),
    ("table function that reads files", "select * from read_csv('/etc/passwd')", "table function `read_csv(…)`"),
    ("table function that lists files", "select * from glob('/*')", "table function `glob(…)`"),
    ("table function that runs a query", "select * from query('select 1')", "table function `query(…)`"),
    ("system table function", "select * from duckdb_settings()", "table function `duckdb_settings(…)`"),
    ("system view", "select message from duckdb_logs", "`duckdb_logs`, which is not a table"),
    ("catalog views", "select * from information_schema.tables", "`information_schema.tables`, which is not"),
    ("another database", "select * from system.main.duckdb_tables", "`system.main.duckdb_tables`, which is not"),
    ("a file as a table", "select * from '/etc/passwd'", "`/etc/passwd`, which is not a table"),
    ("summarize", "summarize stg_orders", "`summarize`"),
    ("describe", "describe stg_orders", "`describe`"),
    ("show", "show tables", "`show`"),
    ("pragma", "pragma version", "not a `select`"),
    ("set", "set threads = 8", "not a `select`"),
    ("attach", "attach '/tmp/x.duckdb' as x", "not a `select`"),
    ("copy", "copy (select 1) to '/tmp/x.csv'", "not a `select`"),
    ("install", "install httpfs", "not a `select`"),
    ("load", "load httpfs", "not a `select`"),
    ("error()", "select error('x') from stg_orders", "`error(…)`"),
    ("error() to probe the version", "select case when count(*) = 47 then 1 else error('no') end from stg_orders",
     "`error(…)`"),
    ("getenv", "select getenv('HOME') from stg_orders", "`getenv(…)`"),
    ("current_setting", "select current_setting('threads') from stg_orders", "`current_setting(…)`"),
    ("a slow string function", "select levenshtein(repeat('a', 150000), 'b') from stg_orders", "`levenshtein(…)`"),
    ("a function from another schema", "select main.version() from stg_orders", "`version(…)`"),
    ("a parameter", "select $1 from stg_orders", "a parameter"),
    ("a lambda", "select list_transform([1], x -> x + 1) from stg_orders", "`list_transform(…)`"),
    ("time travel", "select * from stg_orders at (version => 1)", "`at` a version"),
    ("a system view behind a CTE of the same name out of its scope",
     "select * from (with duckdb_settings as (select 1) select * from duckdb_settings), duckdb_settings",
     "`duckdb_settings`, which is not a table"),
    ("a later CTE's name read before it is defined",
     "with a as (select * from duckdb_settings), duckdb_settings as (select 1) select * from a",
     "`duckdb_settings`, which is not a table"),
    ("a text too long to parse", "select 1 " + " " * 30_000 + "from stg_orders", "characters long"),
    ("two statements", "select 1 from stg_orders; select 2 from stg_orders", "one query"),
]


@pytest.mark.parametrize("what, sql, says", REFUSED, ids=[case[0] for case in REFUSED])
def test_each_class_of_what_is_not_an_answer_is_refused_in_one_sentence(what, sql, says):
    with pytest.raises(Refused) as refused:
        check_allowed(sql, CATALOG)
    message = str(refused.value)
    assert says in message, message
    assert "\n" not in message and "Traceback" not in message


def test_deep_nesting_is_refused_not_a_crash():
    sql = "select " + "abs(" * 3000 + "1" + ")" * 3000 + " from stg_orders"
    with pytest.raises(Refused):
        check_allowed(sql, CATALOG)


KEY = """with

runs as (
    select * from stg_pipeline_runs
),

final as (
    select count(*) as green_runs from runs where status = 'success'
)

select * from final"""


@pytest.mark.parametrize("answer", [
    KEY,
    KEY.replace("\n", " ").replace("    ", "") + ";",
    f"select * from (\n{KEY}\n) as mine",
    f"select green_runs as n from ({KEY}) mine",
    KEY.replace("final", "answer").replace("runs as", "r as").replace("from runs", "from r"),
    f"with mine as (\n{KEY}\n) select * from mine",
    KEY.replace("count(*) as green_runs", "count(*) as total"),
])
def test_the_key_is_found_by_meaning(answer):
    assert holds_key(answer, KEY)


@pytest.mark.parametrize("answer", [
    "select count(*) as green_runs from stg_pipeline_runs where status = 'success'",
    KEY.replace("'success'", "'failed'"),
    "select 1 from (",
])
def test_another_query_is_not_the_key(answer):
    assert not holds_key(answer, KEY)
