"""What an answer's query may hold, read from DuckDB's own parse tree: an allow-list, not a list of known attacks.

An answer is one ``select`` (common table expressions, recursive ones, set operations, subqueries, window
functions) that reads only the warehouse's own tables and views and calls only the functions listed here or the
warehouse's own macros. Anything else (a table function such as ``enable_logging``, ``read_csv``, ``glob`` or
``query``; ``summarize``, ``describe`` or ``show``; a system view such as ``duckdb_logs``; ``error()``,
``getenv()``, ``current_setting()``; a parameter) is refused with one sentence that names it. The grader and the
student's own check call the same ``check_allowed``, so a student learns at once what grading will refuse.
Nothing here runs the query: DuckDB only parses it (``json_serialize_sql``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb

from incidentlab.checking.answer_sql import MAX_CELL_CHARS, AnswerSqlError, first_line

# Scalar functions and operators (DuckDB names the operators it rewrites as functions: `+`, `~~` for like, …).
SCALAR = frozenset("""
+ - * / // % ^ ** || ~~ !~~ ~~* !~~* ^@ & | << >> @ ! ~
abs ceil ceiling floor round trunc sign sqrt cbrt exp ln log log10 log2 pow power mod greatest least
isnan isinf isfinite even factorial gcd lcm pi radians degrees
nullif coalesce ifnull if
lower upper lcase ucase length len strlen char_length character_length trim ltrim rtrim lpad rpad left right
substr substring concat concat_ws replace reverse position strpos instr contains starts_with ends_with prefix
suffix split_part string_split regexp_matches regexp_replace regexp_extract split starts_with like_escape
not_like_escape ilike_escape not_ilike_escape md5 hash format printf initcap
date_part datepart date_trunc datetrunc date_diff datediff date_sub datesub date_add extract epoch epoch_ms
epoch_us epoch_ns make_date make_time make_timestamp strftime strptime try_strptime to_timestamp
to_seconds to_minutes to_hours to_days to_weeks to_months to_years to_milliseconds to_microseconds
year month day hour minute second millisecond microsecond week weekofyear dayofweek dayofyear dayofmonth
isodow isoyear quarter yearweek last_day dayname monthname age century decade era
now current_date current_timestamp today get_current_timestamp
list_value list_pack list_extract list_element array_extract list_contains list_has array_contains
list_position list_sort array_sort list_distinct list_unique len array_length list_slice array_slice
struct_pack struct_extract row unnest
typeof cast try_cast
""".split())

AGGREGATE = frozenset("""
count count_star sum avg mean min max any_value first last arg_min arg_max argmin argmax min_by max_by
arg_min_null arg_max_null count_if countif bool_and bool_or string_agg group_concat listagg list array_agg
median mode quantile quantile_cont quantile_disc percentile_cont percentile_disc stddev stddev_samp
stddev_pop variance var_samp var_pop product fsum sumkahan kahan_sum approx_count_distinct histogram
""".split())

WINDOW = frozenset("""
row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
""".split())

FUNCTIONS = SCALAR | AGGREGATE | WINDOW

# Parse-tree nodes an answer may hold: expressions (by their class), query nodes, table references, modifiers.
_EXPRESSIONS = frozenset({"COLUMN_REF", "CONSTANT", "FUNCTION", "WINDOW", "CAST", "CASE", "COMPARISON",
                          "CONJUNCTION", "OPERATOR", "BETWEEN", "STAR", "SUBQUERY", "COLLATE",
                          "POSITIONAL_REFERENCE"})
_QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
_TABLE_REFS = frozenset({"BASE_TABLE", "JOIN", "SUBQUERY", "EMPTY", "EXPRESSION_LIST", "PIVOT"})
_OTHER = frozenset({"ORDER_MODIFIER", "LIMIT_MODIFIER", "DISTINCT_MODIFIER", "LIMIT_PERCENT_MODIFIER",
                    "ORDER_DEFAULT", "ASCENDING", "DESCENDING"})
_NAMED = {"PARAMETER": "a parameter (`$name` or `?`)", "LAMBDA": "a lambda (`x -> …`)",
          "LAMBDA_REF": "a lambda (`x -> …`)", "DEFAULT": "`default`"}
_SHOW = {"SUMMARY": "`summarize`", "DESCRIBE": "`describe`"}
_ANSWER = "an answer may only read the warehouse's tables and views with one `select`"


@dataclass(frozen=True)
class Catalog:
    """What a warehouse holds that an answer may name: its tables and views, and its own macros."""

    database: str
    tables: frozenset[tuple[str, str]]  # (schema, name), lower case
    macros: frozenset[str] = frozenset()

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection) -> Catalog:
        database = str(one_value(con, "select current_database()"))
        tables = con.execute("select lower(table_schema), lower(table_name) from information_schema.tables "
                             "where table_catalog = current_database()").fetchall()
        macros = con.execute("select distinct lower(function_name) from duckdb_functions() where not internal "
                             "and database_name = current_database()").fetchall()
        return cls(database.lower(), frozenset(tables), frozenset(name for (name,) in macros))

    def holds(self, catalog: str, schema: str, name: str) -> bool:
        catalog, schema, name = catalog.lower(), schema.lower(), name.lower()
        if catalog and catalog != self.database:
            return False
        if not catalog and schema == self.database and ("main", name) in self.tables:
            return True  # `acme.stg_orders`: the database, then its default schema
        return (schema or "main", name) in self.tables


def one_value(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The first value of the query's one row."""
    row = con.execute(sql, params or []).fetchone()
    assert row is not None  # a select without from, or of an aggregate: always one row
    return row[0]


class Refused(AnswerSqlError):
    """The query holds something an answer may not; the message names it."""


def parse_tree(sql: str) -> dict:
    """DuckDB's parse tree of one ``select`` (``Refused`` if it is not one, or too long or deep to read)."""
    if len(sql) > MAX_CELL_CHARS:  # refused before it is parsed
        raise Refused(f"the query is {len(sql):,} characters long; an answer is at most {MAX_CELL_CHARS:,}")
    with duckdb.connect(config={"enable_external_access": False}) as con:
        try:
            text = one_value(con, "select json_serialize_sql(?)", [sql.strip().rstrip(";")])
        except duckdb.Error as exc:
            raise Refused(f"the query is not valid SQL: {first_line(exc)}") from None
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused("the query is nested too deeply to be read") from None
    if tree.get("error"):
        message = str(tree.get("error_message", ""))
        if "Only SELECT" in message:
            raise Refused(f"the answer is not a `select`; {_ANSWER}")
        raise Refused(f"the query is not valid SQL: {message.splitlines()[0] if message else 'unreadable'}")
    if len(tree.get("statements", [])) != 1:
        raise Refused("the answer cell must hold one query (keep only the last one)")
    return tree["statements"][0]["node"]


def check_allowed(sql: str, catalog: Catalog) -> set[tuple[str, str]]:
    """The warehouse tables the query reads, as (schema, name); ``Refused`` names the first thing not allowed."""
    try:
        walker = _Walker(catalog)
        walker.query(parse_tree(sql), frozenset())
    except RecursionError:
        raise Refused("the query is nested too deeply to be read") from None
    return walker.read


def check_in_lab(sql: str, con: duckdb.DuckDBPyConnection | None) -> None:
    """``check_allowed`` against the warehouse of the kernel's lab, ``con`` (nothing outside a lab): the
    student's own check refuses what grading will refuse, with the same sentence."""
    if con is not None:
        check_allowed(sql, Catalog.of(con))


class _Walker:
    """Visits every node of the tree; common table expressions are names only inside their own scope."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.read: set[tuple[str, str]] = set()

    def query(self, node: dict, scope: frozenset[str]) -> None:
        kind = node.get("type")
        if kind not in _QUERY_NODES:
            raise Refused(f"the query holds a `{str(kind).lower()}` part; {_ANSWER}")
        entries = node.get("cte_map", {}).get("map", [])
        names: list[str] = []
        for entry in entries:  # each one sees the ones before it, and itself when it is recursive
            name = str(entry["key"]).lower()
            self.query(entry["value"]["query"]["node"], scope | set(names) | {name})
            names.append(name)
        inner = scope | set(names)
        if kind == "RECURSIVE_CTE_NODE":
            inner = inner | {str(node.get("cte_name", "")).lower()}
        for key, value in node.items():
            if key != "cte_map":
                self.any(value, inner)

    def any(self, value, scope: frozenset[str]) -> None:
        if isinstance(value, list):
            for item in value:
                self.any(item, scope)
            return
        if not isinstance(value, dict):
            return
        if "class" in value:
            self.expression(value, scope)
        elif "node" in value and isinstance(value["node"], dict) and len(value) <= 2:
            self.query(value["node"], scope)  # a subquery: {"node": …, "named_param_map": …}
        elif isinstance(value.get("type"), str):
            self.typed(value, scope)
        else:
            for item in value.values():
                self.any(item, scope)

    def typed(self, node: dict, scope: frozenset[str]) -> None:
        kind = node["type"]
        if kind in _QUERY_NODES:
            return self.query(node, scope)
        if kind == "TABLE_FUNCTION":
            name = node.get("function", {}).get("function_name", "?")
            raise Refused(f"the query calls the table function `{name}(…)`; {_ANSWER}")
        if kind == "SHOW_REF":
            what = _SHOW.get(str(node.get("show_type")), "`show`")
            raise Refused(f"the query uses {what}; {_ANSWER}")
        if kind not in _TABLE_REFS and kind not in _OTHER and not kind.endswith("_TYPE_INFO"):
            raise Refused(f"the query holds a `{kind.lower()}` part; {_ANSWER}")
        if node.get("at_clause"):
            raise Refused(f"the query reads a table `at` a version; {_ANSWER}")
        if kind == "BASE_TABLE":
            self.table(node, scope)
        for item in node.values():
            self.any(item, scope)

    def table(self, node: dict, scope: frozenset[str]) -> None:
        catalog, schema = node.get("catalog_name", ""), node.get("schema_name", "")
        name = node.get("table_name", "")
        if not catalog and not schema and name.lower() in scope:
            return  # a common table expression of this query
        if not self.catalog.holds(catalog, schema, name):
            shown = ".".join(part for part in (catalog, schema, name) if part)
            raise Refused(f"the query reads `{shown}`, which is not a table or view of this warehouse; {_ANSWER}")
        self.read.add((schema.lower() if schema.lower() not in ("", self.catalog.database) else "main",
                       name.lower()))

    def expression(self, node: dict, scope: frozenset[str]) -> None:
        kind = node["class"]
        if kind in _NAMED:
            raise Refused(f"the query uses {_NAMED[kind]}; write the computation in plain SQL")
        if kind not in _EXPRESSIONS:
            raise Refused(f"the query holds a `{kind.lower()}` expression; {_ANSWER}")
        if kind in ("FUNCTION", "WINDOW"):
            name = str(node.get("function_name", "")).lower()
            if node.get("catalog") or node.get("schema") not in ("", "main"):
                raise Refused(f"the query calls `{name}` from another schema; {_ANSWER}")
            if name not in FUNCTIONS and name not in self.catalog.macros:
                raise Refused(f"the query calls `{name}(…)`, which an answer may not use; compute the values "
                              "with SQL's usual functions")
        for item in node.values():
            self.any(item, scope)
