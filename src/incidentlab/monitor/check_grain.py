"""Check ``grain``: does each model still have one row per key?"""

from __future__ import annotations

import re

from incidentlab.monitor.context import Context
from incidentlab.monitor.finding import Finding
from incidentlab.monitor.warehouse import one_row

NAME = "grain"


def grain_keys(ctx: Context, model: str) -> dict[str, str]:
    """Key column -> where it was read: the columns of ``unique`` tests, and the key ``meta.grain`` names.

    ``meta.grain`` may name a column (``order_id``), a list of them, or say it in words ("one row per order
    date"): the words' longest tail that is a column, as it is or with ``_id`` (``order_date``, ``run_id``).
    """
    columns = ctx.columns(model)
    keys = {column: "unique test" for column in ctx.project.unique_keys(model) if column in columns}
    grain = ctx.project.meta(model).get("grain")
    if isinstance(grain, list):
        named = ",".join(grain) if all(c in columns for c in grain) else None
    elif isinstance(grain, str):
        named = grain if grain in columns else _column_of_words(grain, columns)
    else:
        named = None
    if named and named not in keys:
        keys[named] = f"meta.grain {grain!r}"
    return keys or inferred_key(ctx, model, columns)


PREFIXES = ("stg_", "fct_", "fact_", "dim_", "int_", "base_", "mart_", "rpt_", "agg_")


def _singular(word: str) -> str:
    for plural, one in (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("s", "")):
        if word.endswith(plural) and len(word) > len(plural) + 1:
            return word[: -len(plural)] + one
    return word


def name_keys(model: str) -> list[str]:
    """The key a model's name suggests: ``fct_orders`` -> order_id, ``stg_shop__order_items`` -> order_item_id."""
    name = model.split("__")[-1]
    for prefix in PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
    words = name.split("_")
    entity = "_".join(words[:-1] + [_singular(words[-1])]) if words[-1] else name
    return list(dict.fromkeys([f"{entity}_id", f"{_singular(words[-1])}_id", "id"]))


def inferred_key(ctx: Context, model: str, columns: dict[str, str]) -> dict[str, str]:
    """A key for a model that declares none: the ``<entity>_id`` its name says, else ``id``, else a parent's
    declared key carried through (a column of the model); {} when none of them is a column."""
    for column in name_keys(model):
        if column in columns:
            return {column: f"key inferred from its name ({column})"}
    for parent in ctx.project.parents(model):
        for column in ctx.project.unique_keys(parent):
            if column in columns:
                return {column: f"key carried from {parent}'s unique test ({column})"}
    return {}


def _column_of_words(text: str, columns: dict[str, str]) -> str | None:
    words = re.findall(r"[a-z0-9]+", text.lower().split(" per ", 1)[-1])
    for start in range(len(words)):
        tail = "_".join(words[start:])
        for candidate in (tail, f"{tail}_id"):
            if candidate in columns:
                return candidate
    return None


def grain(ctx: Context) -> list[Finding]:
    """Rows against distinct keys, for every model with a key: declared (a ``unique`` test, ``meta.grain``) or
    inferred (``inferred_key``: its name's ``<entity>_id``, ``id``, a parent's key carried through).

    Method: the rows with a key (nulls left out, as dbt's ``unique`` test does) against ``count(distinct key)``
    on the model as it stands in the warehouse; more rows than keys is a fan-out, with the rows per key: ``fail``
    for a declared key or one its name says, ``warn`` for a parent's key carried through (the model may have a
    finer grain on purpose). A model with no key, or not in the warehouse, is not checked.
    """
    findings = []
    for model in sorted(ctx.project.models):
        if not ctx.columns(model):
            continue
        for key, source in grain_keys(ctx, model).items():
            columns = ", ".join(f'"{c}"' for c in key.split(","))
            keyed = " and ".join(f'"{c}" is not null' for c in key.split(","))
            rows, keys, nulls = one_row(
                ctx.con,
                f"select count(*) filter (where {keyed}), count(distinct ({columns})) filter (where {keyed}), "
                f"count(*) filter (where not ({keyed})) from {ctx.table(model)}")
            evidence = {"key": key, "key_source": source, "rows": rows, "distinct_keys": keys, "null_keys": nulls,
                        "rows_per_key": round(rows / keys, 2) if keys else None}
            if rows > keys:
                verdict = "warn" if source.startswith("key carried") else "fail"
                findings.append(Finding(NAME, model, verdict, f"{model} has {rows} rows for {keys} distinct {key} "
                                        f"({rows / keys:.2f} rows per key, where its {source} says one): a "
                                        "fan-out.", evidence))
            else:
                findings.append(Finding(NAME, model, "ok", f"{model}: one row per {key} ({rows} rows).", evidence))
    return findings
