"""dbt's own graph, written into the warehouse as tables, so that SQL can answer "what does this selector run?".

Schema ``dbt_graph``:

- ``nodes``: ``unique_id``, ``name``, ``resource_type`` (model, source, test, exposure), ``folder`` (staging,
  marts, tests), ``materialized`` (view, table, test; ``source`` for a source, a table loaded outside dbt;
  ``exposure`` for an exposure, which dbt does not build). An exposure is a
  dashboard (or other consumer) declared in the project's YAML. A source is named ``<source>.<table>``
  (``dashboard.fct_revenue_daily``) so that every name is unique.
- ``edges``: ``parent``, ``child`` (node names): the child reads from the parent.
- ``selections``: ``selector``, ``name``: the models and tests ``dbt ls --select <selector>`` lists, for
  every selector of the audit log and the remediation, and the module's ``study_selectors``. The selector
  ``all`` is a run without ``--select``.

Everything comes from ``dbt ls`` run in-process, never from a typed list: add a model and the tables follow.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import duckdb

from incidentlab.datasets import Scenario
from incidentlab.dbt_runner import invoke
from incidentlab.errors import DbtError

SCHEMA = "dbt_graph"
WHOLE_PROJECT = "all"  # the audit log's models_run for a run without --select
_RUNNABLE = ["--resource-type", "model", "--resource-type", "test"]


def selectors(scenario: Scenario) -> list[str]:
    """The audit log's selectors, the remediation's, then the ones the course compares them with."""
    found = [run["models_run"] for run in scenario.runs()]
    for args in scenario.remediation:
        if "--select" in args:
            found.append(args[args.index("--select") + 1])
    found += scenario.study_selectors
    return list(dict.fromkeys(found))


def _ls(args: list[str], warehouse: Path, scenario: Scenario) -> list[str]:
    result = invoke(["ls", *args], warehouse=warehouse, now=scenario.now, project=scenario.dbt_project)
    if not result.success:
        raise DbtError(f"`dbt ls {' '.join(args)}` failed while writing dbt's graph: {result.exception}")
    return list(result.result or [])


def _folder(original_file_path: str) -> str:
    parts = PurePosixPath(original_file_path).parts
    return parts[1] if parts[0] == "models" and len(parts) > 2 else parts[0]


def _nodes(warehouse: Path, scenario: Scenario) -> list[dict]:
    keys = "unique_id name resource_type source_name original_file_path config depends_on"
    lines = _ls(["--output", "json", "--output-keys", keys, *_RUNNABLE, "--resource-type", "source",
                 "--resource-type", "exposure"], warehouse, scenario)
    nodes = []
    for line in lines:
        item = json.loads(line)
        kind = item["resource_type"]
        config = item.get("config") or {}
        nodes.append({
            "unique_id": item["unique_id"],
            "name": f"{item['source_name']}.{item['name']}" if kind == "source" else item["name"],
            "resource_type": kind,
            "folder": _folder(item["original_file_path"]),
            "materialized": config.get("materialized") if kind in ("model", "test") else kind,
            "parents": item.get("depends_on", {}).get("nodes", []),
        })
    names = [n["name"] for n in nodes]
    if len(set(names)) != len(names):
        clash = sorted({n for n in names if names.count(n) > 1})
        raise DbtError(f"dbt's graph has several nodes named {', '.join(clash)}; rename them to keep names unique")
    return nodes


def _selection(selector: str, warehouse: Path, scenario: Scenario) -> list[str]:
    select = [] if selector == WHOLE_PROJECT else ["--select", selector]
    return _ls(["--output", "name", *_RUNNABLE, *select], warehouse, scenario)


def write_graph(warehouse_path: Path, scenario: Scenario) -> None:
    """(Re)create schema ``dbt_graph`` in ``warehouse_path`` from the scenario's dbt project."""
    nodes = _nodes(warehouse_path, scenario)
    by_id = {n["unique_id"]: n["name"] for n in nodes}
    edges = sorted({(by_id[p], n["name"]) for n in nodes for p in n["parents"] if p in by_id})
    chosen = [(s, name) for s in selectors(scenario) for name in _selection(s, warehouse_path, scenario)]

    con = duckdb.connect(str(warehouse_path))
    try:
        con.execute("begin")
        con.execute(f"drop schema if exists {SCHEMA} cascade")
        con.execute(f"create schema {SCHEMA}")
        con.execute(f"create table {SCHEMA}.nodes (unique_id varchar primary key, name varchar unique not null, "
                    "resource_type varchar not null, folder varchar not null, materialized varchar not null)")
        con.execute(f"create table {SCHEMA}.edges (parent varchar not null, child varchar not null)")
        con.execute(f"create table {SCHEMA}.selections (selector varchar not null, name varchar not null)")
        con.executemany(f"insert into {SCHEMA}.nodes values (?, ?, ?, ?, ?)",
                        [(n["unique_id"], n["name"], n["resource_type"], n["folder"], n["materialized"])
                         for n in sorted(nodes, key=lambda n: n["unique_id"])])
        if edges:
            con.executemany(f"insert into {SCHEMA}.edges values (?, ?)", edges)
        if chosen:
            con.executemany(f"insert into {SCHEMA}.selections values (?, ?)", chosen)
        con.execute("commit")
    finally:
        con.close()
