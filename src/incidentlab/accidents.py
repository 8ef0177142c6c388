"""Breaking the accidents of a module's data: properties that hold in every version of it, but that no question
may lean on (every order has line items, statuses are lower case, the graph is three levels deep…).

A module lists them, each with the break that undoes it, in the ``accidents`` of a hidden variant
(``grading/<module>/hidden_variants.toml``, on the instructor's side, next to the answer key). The builder applies
the breaks in the listed order with one generator seeded by the variant's ``accidents_seed``, so every build draws
the same rows. Each break names the tables and columns it touches; none knows the module's schema.

Data breaks (``break = …``):

- ``childless``: ``count`` rows of ``parent`` lose every row of ``child`` with their ``key`` (orders without items);
- ``orphans``: ``count`` rows of ``child`` are copied under a ``key`` no row of ``parent`` has (items without order);
- ``late_children``: the ``child`` rows of ``count`` rows of ``parent`` land ``delay_hours`` after it;
- ``mixed_case``: ``count`` lower-case values of ``table.column`` are capitalised, every other one upper-cased;
- ``cent_boundary``: the values of ``table.column`` move by ``-by``, ``0`` or ``+by`` in turn (a difference of
  exactly ``by`` between it and whatever used to equal it), zeros excepted; a whole-number column stays whole;
- ``null_keys``: ``count`` rows of ``table`` are loaded again with ``column`` null (and a new primary key, unless
  ``column`` is it): rows that landed without their key;
- ``gaps``: every row of ``count`` dates of ``table.date`` (never its first or last) is left out;
- ``duplicates``: ``count`` rows of ``table`` are loaded again, the same key, ``hours_before_now`` before the
  scenario's now (after the audit log's runs, so only the grain of what is built from it at now changes);
- ``moved_copy``: the latest row of ``table`` matching ``match`` is copied, with a new key, ``set`` values and
  ``increment`` columns one past their maximum, to a moment of ``time`` between two consecutive runs: the last two
  (``window = "last"``) or two earlier ones (``window = "earlier"``), e.g. a deploy of the same model before the
  incident or of another model inside its window; ``at = "begin"`` or ``"end"`` puts it ``offset_seconds`` from
  that run's start instead of at random between them (a deploy exactly at a window's edge, or just before it);
- ``run_at_boundary``: the latest run whose ``selector`` is one of ``refreshing`` that is followed by one that is
  not: that next run moves to finish exactly ``hours`` after the refreshing one started (an SLA's edge);
- ``long_run``: the run ``position`` from the end (by start; 2 is the one before the last) and ``count`` others
  take long enough to finish ``after_seconds`` after the next run does: runs end in another order than they began;
- ``failed_runs``: the ``last`` run (when true) and ``count`` others fail (``status`` to ``failed``, ``exit_code`` 1,
  ``failed_seconds``), each retried ``retry_minutes`` later as it ran (a new run id).

dbt breaks, files written over the variant's copy of the dbt project:

- ``deep_lineage``: ``model`` (a path in the project) reads ``parent`` through ``depth`` pass-through models
  ``<name>_1`` … ``<name>_<depth>`` in ``folder``;
- ``unprefixed_model``: a model at ``path`` reading every relation of ``reads`` (Jinja calls; none: a model of
  constants), not named like the others of its folder;
- ``exposure``: a YAML file at ``path`` declaring the exposure ``name`` that reads ``depends_on`` (Jinja calls),
  so an exposure sits in that folder.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable
from decimal import Decimal

from incidentlab.datasets import LOADED_AT, Table
from incidentlab.errors import DatasetError


def next_key(table: Table) -> object:
    """A primary key ``table`` does not have yet: one past the largest (``run_041`` after ``run_040``)."""
    keys = [row[table.index(table.primary_key)] for row in table.rows]
    if all(isinstance(key, int) for key in keys):
        return max(keys, default=0) + 1
    numbered = [re.fullmatch(r"(.*?)(\d+)", str(key)) for key in keys]
    if not keys or not all(numbered):
        raise DatasetError(f"{table.name}: its keys are not numbered, so no new one can be made")
    prefix, digits = max((m.group(1), m.group(2)) for m in numbered if m)
    width = len(digits)
    return f"{prefix}{max(int(m.group(2)) for m in numbered if m) + 1:0{width}d}"


def _pick(rows: list[int], count: int, rng: random.Random, what: str) -> list[int]:
    if len(rows) < count:
        raise DatasetError(f"{what}: it has {len(rows)} row(s) to break, {count} asked")
    return sorted(rng.sample(rows, count))


def _replace(table: Table, i: int, **values) -> None:
    table.rows[i] = tuple(values.get(column, value) for column, value in zip(table.columns, table.rows[i]))


def _get(table: Table, i: int, column: str):
    return table.rows[i][table.index(column)]


def _childless(tables, rng, parent, child, key, count=1):
    kids, parents = tables[child], tables[parent]
    with_kids = {_get(kids, i, key) for i in range(len(kids.rows))}
    chosen = {_get(parents, i, key) for i in _pick(
        [i for i in range(len(parents.rows)) if _get(parents, i, key) in with_kids], count, rng, parent)}
    kids.rows = [row for row in kids.rows if row[kids.index(key)] not in chosen]


def _orphans(tables, rng, parent, child, key, count=1):
    kids, parents = tables[child], tables[parent]
    unknown = max(_get(parents, i, key) for i in range(len(parents.rows)))
    for i in _pick(range(len(kids.rows)), count, rng, child):
        unknown += 1
        row = dict(zip(kids.columns, kids.rows[i]), **{key: unknown, kids.primary_key: next_key(kids)})
        kids.rows.append(tuple(row.values()))


def _late_children(tables, rng, parent, child, key, count=1, delay_hours=6):
    kids, parents = tables[child], tables[parent]
    with_kids = {_get(kids, i, key) for i in range(len(kids.rows))}
    for i in _pick([i for i in range(len(parents.rows)) if _get(parents, i, key) in with_kids], count, rng, parent):
        landed = _get(parents, i, LOADED_AT) + dt.timedelta(hours=delay_hours)
        for j in range(len(kids.rows)):
            if _get(kids, j, key) == _get(parents, i, key):
                _replace(kids, j, **{LOADED_AT: landed})


def _mixed_case(tables, rng, table, column, count=2):
    t = tables[table]
    lower = [i for i in range(len(t.rows)) if isinstance(_get(t, i, column), str) and _get(t, i, column).islower()]
    for n, i in enumerate(_pick(lower, count, rng, f"{table}.{column}")):
        value = _get(t, i, column)
        _replace(t, i, **{column: value.upper() if n % 2 else value.capitalize()})


def _cent_boundary(tables, rng, table, column, by=0.01):
    t, step = tables[table], Decimal(str(by))
    rows = [i for i in range(len(t.rows)) if _get(t, i, column)]
    rng.shuffle(rows)
    for n, i in enumerate(rows):
        value = _get(t, i, column)
        moved = value + (-step, Decimal(0), step)[n % 3]
        _replace(t, i, **{column: int(moved) if isinstance(value, int) else moved})


def _null_keys(tables, rng, table, column, count=1):
    t = tables[table]
    for i in _pick([i for i in range(len(t.rows)) if _get(t, i, column) is not None], count, rng, table):
        again = dict(zip(t.columns, t.rows[i]), **{column: None})
        if column != t.primary_key:
            again[t.primary_key] = next_key(t)
        t.rows.append(tuple(again.values()))


def _gaps(tables, rng, table, date, count=1):
    t = tables[table]
    days = sorted({_get(t, i, date) for i in range(len(t.rows))})
    gone = set(rng.sample(days[1:-1], count))
    t.rows = [row for row in t.rows if row[t.index(date)] not in gone]


def _duplicates(tables, rng, table, now, count=1, hours_before_now=1.0):
    t = tables[table]
    for i in _pick(range(len(t.rows)), count, rng, table):
        again = dict(zip(t.columns, t.rows[i]))
        again[LOADED_AT] = max(again[LOADED_AT], now - dt.timedelta(hours=hours_before_now))
        t.rows.append(tuple(again.values()))


def _run_gaps(runs: Table, start: str) -> list[tuple[dt.datetime, dt.datetime]]:
    moments = sorted(_get(runs, i, start) for i in range(len(runs.rows)))
    return list(zip(moments, moments[1:]))


def _moved_copy(tables, rng, table, time, match, runs, start, window="last", set=None, increment=(), at=None,
                offset_seconds=0):
    t = tables[table]
    matching = [i for i in range(len(t.rows)) if all(_get(t, i, c) == v for c, v in match.items())]
    if not matching:
        raise DatasetError(f"{table}: no row matches {match}")
    latest = max(matching, key=lambda i: _get(t, i, time))
    gaps = _run_gaps(tables[runs], start)
    if window == "last":
        begin, end = gaps[-1]
    else:
        begin, end = rng.choice([gap for gap in gaps[:-1] if gap[1] < _get(t, latest, time)])
    if at is None:
        moment = (begin + (end - begin) * rng.uniform(0.2, 0.8)).replace(microsecond=0)
    elif at in ("begin", "end"):
        moment = (begin if at == "begin" else end) + dt.timedelta(seconds=offset_seconds)
    else:
        raise DatasetError(f"at = {at!r}: it is \"begin\" or \"end\" (a run's start), or left out (at random)")
    row = dict(zip(t.columns, t.rows[latest]), **(set or {}))
    row.update({t.primary_key: next_key(t), LOADED_AT: moment + dt.timedelta(seconds=45), time: moment})
    for column in increment:
        row[column] = max(_get(t, i, column) for i in range(len(t.rows))) + 1
    t.rows.append(tuple(row.values()))


def _long_run(tables, rng, runs, start, duration, position=2, count=0, after_seconds=60):
    t = tables[runs]
    order = sorted(range(len(t.rows)), key=lambda i: _get(t, i, start))
    chosen = [len(order) - position] + rng.sample(range(1, len(order) - position), count)
    for pos in chosen:
        i, after = order[pos], order[pos + 1]
        finish = _get(t, after, start) + dt.timedelta(seconds=_get(t, after, duration) + after_seconds)
        seconds = int((finish - _get(t, i, start)).total_seconds())
        _replace(t, i, **{duration: seconds, LOADED_AT: finish})


def _failed_runs(tables, rng, runs, start, duration, status, failed="error", exit_code="exit_code", last=True,
                 count=0, retry_minutes=40, failed_seconds=(3, 9)):
    t = tables[runs]
    order = sorted(range(len(t.rows)), key=lambda i: _get(t, i, start))
    chosen = ([order[-1]] if last else []) + rng.sample(order[1:-1], count)
    for i in chosen:
        retry = dict(zip(t.columns, t.rows[i]))
        retry[t.primary_key] = next_key(t)
        retry[start] += dt.timedelta(minutes=retry_minutes)
        retry[LOADED_AT] = retry[start] + dt.timedelta(seconds=retry[duration])
        seconds = rng.randint(*failed_seconds)
        _replace(t, i, **{status: failed, exit_code: 1, duration: seconds,
                          LOADED_AT: _get(t, i, start) + dt.timedelta(seconds=seconds)})
        t.rows.append(tuple(retry.values()))


def _run_at_boundary(tables, rng, runs, start, duration, selector, refreshing, hours=25):
    t = tables[runs]
    order = sorted(range(len(t.rows)), key=lambda i: _get(t, i, start))
    for pos in range(len(order) - 2, -1, -1):
        fresh, after = order[pos], order[pos + 1]
        if _get(t, fresh, selector) not in refreshing or _get(t, after, selector) in refreshing:
            continue
        moved = _get(t, fresh, start) + dt.timedelta(hours=hours, seconds=-_get(t, after, duration))
        later = _get(t, order[pos + 2], start) if pos + 2 < len(order) else None
        if _get(t, after, start) <= moved and (later is None or moved < later):
            _replace(t, after, **{start: moved, LOADED_AT: moved + dt.timedelta(seconds=_get(t, after, duration))})
            return
    raise DatasetError(f"{runs}: no run after a refreshing one can move to finish {hours} hours after it started")


_DATA: dict[str, Callable[..., None]] = {  # kind -> the break, applied to the tables in place
    "childless": _childless, "orphans": _orphans, "late_children": _late_children, "mixed_case": _mixed_case,
    "cent_boundary": _cent_boundary, "gaps": _gaps, "duplicates": _duplicates, "moved_copy": _moved_copy,
    "null_keys": _null_keys, "long_run": _long_run, "failed_runs": _failed_runs, "run_at_boundary": _run_at_boundary,
}


def _deep_lineage(read: Callable[[str], str], model: str, parent: str, depth: int, folder: str,
                  name: str) -> dict[str, str]:
    source = read(model)
    pattern = re.compile(r"ref\(\s*['\"]" + re.escape(parent) + r"['\"]\s*\)")
    if not pattern.search(source):
        raise DatasetError(f"deep_lineage: {model} does not read ref('{parent}')")
    files = {model: pattern.sub(f"ref('{name}_{depth}')", source)}
    for step in range(1, depth + 1):
        upstream = parent if step == 1 else f"{name}_{step - 1}"
        files[f"{folder}/{name}_{step}.sql"] = (
            f"-- One step of a longer lineage: {upstream}, passed on as it is.\n\n"
            f"with\n\n{upstream} as (\n\n    select * from {{{{ ref('{upstream}') }}}}\n\n),\n\n"
            f"final as (\n\n    select * from {upstream}\n\n)\n\nselect * from final\n")
    return files


def _unprefixed_model(read: Callable[[str], str], path: str, reads: list[str]) -> dict[str, str]:
    if not reads:
        return {path: "-- A model named unlike the others of its folder, reading no relation: constants.\n\n"
                      "with\n\nfinal as (\n\n    select 1 as id\n\n)\n\nselect * from final\n"}
    names = [f"read_{n}" for n in range(1, len(reads) + 1)]
    imports = ",\n\n".join(f"{name} as (\n\n    select * from {{{{ {call} }}}}\n\n)"
                           for name, call in zip(names, reads))
    first, *others = names
    filters = "".join(f"\n    where exists (select 1 from {other})" for other in others[:1])
    filters += "".join(f"\n        and exists (select 1 from {other})" for other in others[1:])
    final = f"final as (\n\n    select * from {first}{filters}\n\n)"
    return {path: f"-- A staging model named unlike the others, reading {len(reads)} relations.\n\n"
                  f"with\n\n{imports},\n\n{final}\n\nselect * from final\n"}


def _exposure(read: Callable[[str], str], path: str, name: str, depends_on: list[str]) -> dict[str, str]:
    needs = "".join(f"\n      - {call}" for call in depends_on)
    return {path: f"# A consumer declared in this folder, reading {len(depends_on)} models.\n\nversion: 2\n\n"
                  f"exposures:\n  - name: {name}\n    type: analysis\n    owner:\n      name: finance\n"
                  f"    depends_on:{needs}\n"}


_DBT: dict[str, Callable[..., dict[str, str]]] = {
    "deep_lineage": _deep_lineage, "unprefixed_model": _unprefixed_model, "exposure": _exposure}
KINDS = sorted({*_DATA, *_DBT})


def break_accidents(tables: dict[str, Table], read: Callable[[str], str], accidents: list[dict], seed: int,
                    now: dt.datetime, where: str) -> dict[str, str]:
    """Apply every break of ``accidents`` to ``tables`` (in place); return the dbt files the breaks write
    (path in the project -> text). ``read`` gives a file of the variant's dbt project by its path there;
    ``where`` names the declaration in errors."""
    rng = random.Random(seed)
    files: dict[str, str] = {}
    for number, accident in enumerate(accidents, start=1):
        params = {k: v for k, v in accident.items() if k not in ("break", "property")}
        kind = accident.get("break")
        if not accident.get("property"):
            raise DatasetError(f"{where}: accident {number} needs the `property` of the data it breaks")
        try:
            if kind == "duplicates":
                _duplicates(tables, rng, now=now, **params)
            elif kind in _DATA:
                _DATA[kind](tables, rng, **params)
            elif kind in _DBT:
                files.update(_DBT[kind](read, **params))
            else:
                raise DatasetError(f"unknown break {kind!r}; known: {', '.join(KINDS)}")
        except (TypeError, KeyError, ValueError, DatasetError) as exc:
            raise DatasetError(f"{where}: accident {number} ({kind}): {exc}") from None
    return files
