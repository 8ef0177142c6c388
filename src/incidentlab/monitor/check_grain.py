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
    return keys


def _column_of_words(text: str, columns: dict[str, str]) -> str | None:
    words = re.findall(r"[a-z0-9]+", text.lower().split(" per ", 1)[-1])
    for start in range(len(words)):
        tail = "_".join(words[start:])
        for candidate in (tail, f"{tail}_id"):
            if candidate in columns:
                return candidate
    return None


def grain(ctx: Context) -> list[Finding]:
    """Rows against distinct keys, for every model that has a key (a ``unique`` test or ``meta.grain``).

    Method: ``count(*)`` against ``count(distinct key)`` on the model as it stands in the warehouse; ``fail``
    when there are more rows than keys (a fan-out), with the rows per key. A model with no key is not checked.
    """
    findings = []
    for model in sorted(ctx.project.models):
        for key, source in grain_keys(ctx, model).items():
            columns = ", ".join(f'"{c}"' for c in key.split(","))
            rows, keys = one_row(ctx.con, f"select count(*), count(distinct ({columns})) from {ctx.table(model)}")
            evidence = {"key": key, "key_source": source, "rows": rows, "distinct_keys": keys,
                        "rows_per_key": round(rows / keys, 2) if keys else None}
            if rows > keys:
                findings.append(Finding(NAME, model, "fail", f"{model} has {rows} rows for {keys} distinct {key} "
                                        f"({rows / keys:.2f} rows per key, where its {source} says one): a "
                                        "fan-out.", evidence))
            else:
                findings.append(Finding(NAME, model, "ok", f"{model}: one row per {key} ({rows} rows).", evidence))
    return findings
