"""Variant scenarios: the same incident, replayed from other data, each named in scenario.toml's [[variants]].

Hidden tests re-run a student's query on every variant warehouse and compare it with the reference query
there. Each variant changes what a class of wrong answers leans on (typed-in values, the order of run ids,
one table's load time, an unbroken run of days, a typed list of marts, rows that land late, a threshold's edge),
so such an answer fails on one of them.

A variant's own tables come first: ``datasets/<module>/variants/<name>/<table>.csv`` (same header and types as
the module's) replaces that table's rows; a module whose data is generated uses this for variants drawn from
other parameters. Then its keys, applied in this order; edits name rows and dates of the table, before the shift:

- ``duration_factor``: every run of the audit log takes that many times as long (the durations that
  ``run_changes`` and ``add_runs`` give are taken as they are);
- ``incident_runs_earlier``: the selector change reaches that many more runs;
- ``run_changes``: ``{run_id = {column = value}}``, edits of audit-log rows;
- ``add_runs``: more audit-log rows, numbered after the last run;
- ``returned_on``: every order of these dates was returned;
- ``no_signups_on``: the customers who signed up on these dates are left out, with every row naming them;
- ``load_delay_minutes``: ``{table = minutes}``, ingestion lands that table's rows later (rows landing after
  ``now`` never land);
- ``row_changes``: ``{table = {primary key = {column = value}}}``, edits of raw rows; a later ``_loaded_at``
  lands the row late, at that moment (``load_delay_minutes`` does not move it);
- ``shift_days``, ``seed``, ``drop_fraction``, ``drop_from``, ``keep``: every date moves by ``shift_days``
  (whole weeks keep the weekdays), amounts are rescaled with ``seed``, a share of the rows of ``drop_from``
  is left out unless a ``keep`` rule holds;
- ``shuffle_run_ids``: a seed; run ids are renumbered out of time order;
- ``fix_hours_before_now``: when the remediation of ``--stage fixed`` runs (its last command);
- ``remediation``: the dbt commands of the remediation, instead of the scenario's;
- ``fix_minutes_apart``: the remediation's commands run that many minutes apart, the last one at the fix time;
- files under ``datasets/<module>/variants/<name>/dbt/`` are copied over the dbt project for its build;
- ``base``: the variant whose own tables and dbt files this one starts from (its keys are not applied);
- ``accidents`` and ``accidents_seed``: the breaks of :mod:`incidentlab.accidents`, applied after every other edit.

The tables and columns these edits name come from scenario.toml's ``[variant_columns]``:
``run_start``/``run_duration`` (the audit log's), ``run_selector`` and ``full_selector`` (the incident's runs are
the first ones whose selector is another), ``returned = {table, date, status, value}`` and
``signups = {table, key, date}``. A key whose columns are not declared fails, naming the one it misses.
A variant in ``grading/<module>/hidden_variants.toml`` is built and judged like the others, but is never
described in datasets/ (the instructor's side of the course, next to the answer key).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

from incidentlab.accidents import break_accidents, next_key
from incidentlab.datasets import LOADED_AT, Scenario, Table, read_table, variant_spec
from incidentlab.errors import DatasetError
from incidentlab.paths import dataset_dir

_CENT = Decimal("0.01")
_KEYS = {
    "name", "description", "duration_factor", "incident_runs_earlier", "run_changes", "add_runs", "returned_on",
    "no_signups_on", "load_delay_minutes", "row_changes", "shift_days", "seed", "drop_fraction", "drop_from",
    "keep", "shuffle_run_ids", "fix_hours_before_now", "remediation", "fix_minutes_apart", "base", "accidents",
    "accidents_seed", "hidden",
}


def _column(scenario: Scenario, role: str, key: str):
    """The table or column scenario.toml's ``[variant_columns]`` names for ``role``, which variant key ``key``
    needs."""
    try:
        return scenario.variant_columns[role]
    except KeyError:
        raise DatasetError(f"datasets/{scenario.module}/scenario.toml: the variant key `{key}` needs "
                           f"`{role}` in [variant_columns]") from None


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


def _copy(table: Table, rows: list[tuple] | None = None) -> Table:
    return Table(table.name, table.primary_key, dict(table.columns), list(table.rows if rows is None else rows))


def _with_finish(table: Table, row: dict, runs: dict) -> tuple:
    """An audit-log row as a tuple; it lands when the run finishes."""
    missing = set(table.columns) - set(row) - {LOADED_AT}
    if missing:
        raise DatasetError(f"a run of the variant lacks {', '.join(sorted(missing))}: {row}")
    row[LOADED_AT] = row[runs["start"]] + dt.timedelta(seconds=row[runs["duration"]])
    return tuple(row[column] for column in table.columns)


def _slower(table: Table, factor: float, runs: dict) -> None:
    """Every run takes ``factor`` times as long (whole seconds) and lands that much later."""
    for i, row in enumerate(table.rows):
        run = dict(zip(table.columns, row))
        run[runs["duration"]] = round(run[runs["duration"]] * factor)
        table.rows[i] = _with_finish(table, run, runs)


def _incident_earlier(table: Table, runs_earlier: int, runs: dict) -> None:
    """Let the incident (the first runs whose selector is not the full one) reach ``runs_earlier`` more runs, with
    the short durations it causes."""
    start, models, duration = (table.index(runs[role]) for role in ("start", "selector", "duration"))
    loaded = table.index(LOADED_AT)
    order = sorted(range(len(table.rows)), key=lambda i: table.rows[i][start])
    first_bad = next(pos for pos, i in enumerate(order) if table.rows[i][models] != runs["full"])
    bad = table.rows[order[first_bad]]
    for step, pos in enumerate(range(first_bad - runs_earlier, first_bad)):
        row = list(table.rows[order[pos]])
        row[models] = bad[models]
        row[duration] = bad[duration] - 2 + step
        row[loaded] = row[start] + dt.timedelta(seconds=row[duration])
        table.rows[order[pos]] = tuple(row)


def _change_runs(table: Table, changes: dict, runs: dict) -> None:
    key = table.index(table.primary_key)
    unknown = set(changes) - {row[key] for row in table.rows}
    if unknown:
        raise DatasetError(f"run_changes names runs the audit log does not have: {', '.join(sorted(unknown))}")
    for i, row in enumerate(table.rows):
        if row[key] in changes:
            table.rows[i] = _with_finish(table, {**dict(zip(table.columns, row)), **changes[row[key]]}, runs)


def _add_runs(table: Table, added: list[dict], runs: dict) -> None:
    for run in added:
        table.rows.append(_with_finish(table, {table.primary_key: next_key(table), **run}, runs))


def _shuffle_run_ids(table: Table, rng: random.Random) -> None:
    key = table.index(table.primary_key)
    ids = sorted(row[key] for row in table.rows)
    rng.shuffle(ids)
    table.rows = [row[:key] + (new,) + row[key + 1:] for row, new in zip(table.rows, ids)]


def _all_returned(tables: dict[str, Table], dates: list[dt.date], returned: dict) -> None:
    table = tables[returned["table"]]
    date, status = table.index(returned["date"]), table.index(returned["status"])
    table.rows = [row[:status] + (returned["value"],) + row[status + 1:] if row[date] in dates else row
                  for row in table.rows]


def _without_signups(tables: dict[str, Table], dates: list[dt.date], signups: dict) -> None:
    people, key = tables[signups["table"]], signups["key"]
    signup = people.index(signups["date"])
    gone = {row[people.index(key)] for row in people.rows if row[signup] in dates}
    for table in tables.values():
        if key in table.columns:
            at = table.index(key)
            table.rows = [row for row in table.rows if row[at] not in gone]


def _change_rows(table: Table, changes: dict) -> None:
    """Edit the rows named by their primary key (TOML keys are text, so ``29`` names order 29)."""
    key = table.index(table.primary_key)
    unknown = set(changes) - {str(row[key]) for row in table.rows}
    if unknown:
        raise DatasetError(f"row_changes names rows {table.name} does not have: {', '.join(sorted(unknown))}")
    extra = {column for edit in changes.values() for column in edit} - set(table.columns)
    if extra:
        raise DatasetError(f"row_changes names columns {table.name} does not have: {', '.join(sorted(extra))}")
    for i, row in enumerate(table.rows):
        edit = changes.get(str(row[key]))
        if edit:
            table.rows[i] = tuple(edit.get(column, value) for column, value in zip(table.columns, row))


def _delay_loads(table: Table, minutes: float) -> None:
    at = table.index(LOADED_AT)
    delay = dt.timedelta(minutes=minutes)
    table.rows = [row[:at] + (row[at] + delay,) + row[at + 1:] for row in table.rows]


_RUN_KEYS = ("duration_factor", "incident_runs_earlier", "run_changes", "add_runs")


def _run_columns(scenario: Scenario, spec: dict) -> dict:
    """The audit log's columns the run edits of ``spec`` name (none when it has no run edit)."""
    used = [key for key in _RUN_KEYS if spec.get(key)]
    if not used:
        return {}
    runs = {"start": _column(scenario, "run_start", used[0]), "duration": _column(scenario, "run_duration", used[0])}
    if spec.get("incident_runs_earlier"):
        runs["selector"] = _column(scenario, "run_selector", "incident_runs_earlier")
        runs["full"] = _column(scenario, "full_selector", "incident_runs_earlier")
    return runs


def _edit(tables: dict[str, Table], spec: dict, scenario: Scenario) -> None:
    """The edits that name rows and dates of the original."""
    runs, columns = tables[scenario.audit_table], _run_columns(scenario, spec)
    if spec.get("duration_factor"):
        _slower(runs, spec["duration_factor"], columns)
    if spec.get("incident_runs_earlier"):
        _incident_earlier(runs, spec["incident_runs_earlier"], columns)
    if spec.get("run_changes"):
        _change_runs(runs, spec["run_changes"], columns)
    if spec.get("add_runs"):
        _add_runs(runs, spec["add_runs"], columns)
    if spec.get("returned_on"):
        _all_returned(tables, spec["returned_on"], _column(scenario, "returned", "returned_on"))
    if spec.get("no_signups_on"):
        _without_signups(tables, spec["no_signups_on"], _column(scenario, "signups", "no_signups_on"))
    for name, minutes in spec.get("load_delay_minutes", {}).items():
        _delay_loads(tables[name], minutes)
    for name, changes in spec.get("row_changes", {}).items():
        _change_rows(tables[name], changes)


def _shift_rescale_drop(tables: dict[str, Table], spec: dict) -> dict[str, Table]:
    # One generator through every table in turn: the same seed gives the same amounts and rows every build.
    days = dt.timedelta(days=spec.get("shift_days", 0))
    rng = random.Random(spec.get("seed", 0))
    rescale = "seed" in spec
    keep_rules = spec.get("keep", {})
    out = {}
    for name, table in tables.items():
        rows = [tuple(_rescale(_shift(v, days), rng) if rescale else _shift(v, days) for v in row)
                for row in table.rows]
        new = _copy(table, rows)
        if name in spec.get("drop_from", []):
            new.rows = [r for r in new.rows if _kept(new, r, rng, spec["drop_fraction"], keep_rules.get(name, {}))]
        out[name] = new
    return out


def _own_table(folder, table: Table) -> Table:
    """The variant's own rows of ``table`` when its folder has the CSV, else a copy of the module's."""
    own = folder / f"{table.name}.csv"
    return read_table(own, table.name, table.primary_key, table.columns) if own.is_file() else _copy(table)


def make_variant(scenario: Scenario, name: str) -> Scenario:
    """The scenario of variant ``name``: its data edited, shifted and rescaled, its clock and fix time moved."""
    spec = variant_spec(scenario.variants, name, scenario.module)
    unknown = set(spec) - _KEYS
    if unknown:
        raise DatasetError(f"variant {name!r} of {scenario.module}: unknown key(s) {', '.join(sorted(unknown))}. "
                           f"Known: {', '.join(sorted(_KEYS))}.")
    variants = dataset_dir(scenario.module) / "variants"
    folder = variants / spec.get("base", name)
    tables = {table_name: _own_table(folder, table) for table_name, table in scenario.tables.items()}
    _edit(tables, spec, scenario)
    tables = _shift_rescale_drop(tables, spec)
    if "shuffle_run_ids" in spec:
        _shuffle_run_ids(tables[scenario.audit_table], random.Random(spec["shuffle_run_ids"]))
    now = scenario.now + dt.timedelta(days=spec.get("shift_days", 0))
    overlay = folder / "dbt"
    overlay = overlay if overlay.is_dir() else None
    files = {}
    if spec.get("accidents"):
        def read(path: str) -> str:  # a file of the project as this variant's build sees it
            own = overlay / path if overlay is not None else None
            return (own if own is not None and own.is_file() else scenario.dbt_project / path).read_text("utf-8")

        files = break_accidents(tables, read, spec["accidents"], spec.get("accidents_seed", 0),
                                now, f"variant {name!r} of {scenario.module}")
    return dataclasses.replace(
        scenario,
        now=now,
        tables=tables,
        remediation=spec.get("remediation", scenario.remediation),
        fix_hours_before_now=spec.get("fix_hours_before_now", scenario.fix_hours_before_now),
        fix_minutes_apart=spec.get("fix_minutes_apart", scenario.fix_minutes_apart),
        variant_name=name,
        dbt_overlay=overlay,
        dbt_files=files,
    )
