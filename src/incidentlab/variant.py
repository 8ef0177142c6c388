"""The variant scenario: the same incident with other dates, amounts and counts.

Hidden tests re-run a student's query on the variant warehouse and compare it with the reference query
there, so an answer typed as a constant cannot pass them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

from incidentlab.datasets import Scenario, Table

_CENT = Decimal("0.01")


def _shift(value, days: dt.timedelta):
    return value + days if isinstance(value, (dt.date, dt.datetime)) else value


def _rescale(value, rng: random.Random):
    if isinstance(value, Decimal):
        return (value * Decimal(str(rng.uniform(0.7, 1.4)))).quantize(_CENT)
    return value


def _kept(table: Table, row: tuple, rng: random.Random, fraction: float, keep: dict) -> bool:
    if any(row[table.index(col)] == val for col, val in keep.items()):
        return True
    return rng.random() >= fraction


def _incident_earlier(table: Table, runs_earlier: int) -> None:
    """Let the selector change reach ``runs_earlier`` more runs, with the short durations it causes."""
    order = sorted(range(len(table.rows)), key=lambda i: table.rows[i][table.index("run_date")])
    models, duration = table.index("models_run"), table.index("duration_seconds")
    loaded, start = table.index("_loaded_at"), table.index("run_date")
    first_bad = next(pos for pos, i in enumerate(order) if table.rows[i][models] != "all")
    bad = table.rows[order[first_bad]]
    for step, pos in enumerate(range(first_bad - runs_earlier, first_bad)):
        row = list(table.rows[order[pos]])
        row[models] = bad[models]
        row[duration] = bad[duration] - 2 + step
        row[loaded] = row[start] + dt.timedelta(seconds=row[duration])
        table.rows[order[pos]] = tuple(row)


def make_variant(scenario: Scenario) -> Scenario:
    spec = scenario.variant
    days = dt.timedelta(days=spec["shift_days"])
    rng = random.Random(spec["seed"])
    keep_rules = spec.get("keep", {})
    tables = {}
    for name, table in scenario.tables.items():
        rows = [tuple(_rescale(_shift(v, days), rng) for v in row) for row in table.rows]
        new = Table(table.name, table.primary_key, dict(table.columns), rows)
        if name in spec.get("drop_from", []):
            new.rows = [r for r in new.rows if _kept(new, r, rng, spec["drop_fraction"], keep_rules.get(name, {}))]
        tables[name] = new
    _incident_earlier(tables[scenario.audit_table], spec["incident_runs_earlier"])
    return dataclasses.replace(scenario, now=scenario.now + days, tables=tables)
