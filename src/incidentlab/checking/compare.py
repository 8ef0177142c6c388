"""The comparison engine: does a query result hold the same rows as the expected one?

Rows are compared as a multiset (order ignored unless asked, duplicates count), columns by lower-cased name in
any order. Values compare by meaning, not by type: 3 == 3.0 == Decimal("3.00"), a date equals the timestamp at
its midnight, every kind of null equals every other, floats within a small relative tolerance.

Every message describes shapes and column names only, never an expected value: the expected result is the
reference answer.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import numbers
from collections import Counter

import numpy as np
import pandas as pd

REL_TOL = 1e-6
ABS_TOL = 1e-9

_NULL = ("null",)


def normalize_columns(frame: pd.DataFrame) -> list[str]:
    return [str(name).strip().lower() for name in frame.columns]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _is_null(value) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, decimal.Decimal):
        return value.is_nan()
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return False


def canonical(value):
    """A hashable form of ``value`` in which equal meanings are equal (floats: see ``close``)."""
    if _is_null(value):
        return _NULL
    if isinstance(value, bool | np.bool_):
        return ("bool", bool(value))
    if isinstance(value, numbers.Number) and not isinstance(value, complex):
        return ("num", float(value))
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date | np.datetime64):
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return ("time", stamp.as_unit("ns").value)
    if isinstance(value, pd.Timedelta | dt.timedelta | np.timedelta64):
        return ("span", pd.Timedelta(value).as_unit("ns").value)
    if isinstance(value, dt.time):
        return ("clock", value.isoformat())
    if isinstance(value, np.ndarray | list | tuple):
        return ("list", tuple(canonical(item) for item in value))
    if isinstance(value, dict):
        return ("map", tuple(sorted((str(k), canonical(v)) for k, v in value.items())))
    if isinstance(value, bytes):
        return ("bytes", value)
    return ("text", str(value))


def _close_value(a, b) -> bool:
    if a == b:
        return True
    if a[0] != b[0]:
        return False
    if a[0] == "num":
        return math.isclose(a[1], b[1], rel_tol=REL_TOL, abs_tol=ABS_TOL) or (math.isinf(a[1]) and a[1] == b[1])
    if a[0] == "list" and len(a[1]) == len(b[1]):
        return all(_close_value(x, y) for x, y in zip(a[1], b[1], strict=True))
    return False


def close(row_a: tuple, row_b: tuple) -> bool:
    return len(row_a) == len(row_b) and all(_close_value(a, b) for a, b in zip(row_a, row_b, strict=True))


def _bucket(value):
    """A coarser key: values that are ``close`` almost always share it (rounded to 6 significant digits)."""
    if value[0] == "num" and math.isfinite(value[1]):
        return ("num", float(f"{value[1]:.6g}"))
    if value[0] == "list":
        return ("list", tuple(_bucket(item) for item in value[1]))
    return value


def rows_of(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """The rows of ``frame`` in canonical form, its columns taken in the order of ``columns`` (lower-case)."""
    positions = {name: i for i, name in enumerate(normalize_columns(frame))}
    order = [positions[name] for name in columns]
    return [tuple(canonical(row[i]) for i in order) for row in frame.itertuples(index=False, name=None)]


def unmatched(actual: list[tuple], expected: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """Multiset difference with tolerance: (actual rows with no partner, expected rows with no partner)."""
    left = Counter(actual)
    right = Counter(expected)
    common = left & right
    left -= common
    right -= common
    extra = list(left.elements())
    missing = list(right.elements())
    if not extra or not missing:
        return extra, missing
    # Near-equal floats: pair what is left, first within a rounding bucket, then anywhere.
    by_bucket: dict[tuple, list[int]] = {}
    for i, row in enumerate(missing):
        by_bucket.setdefault(tuple(_bucket(v) for v in row), []).append(i)
    taken: set[int] = set()
    still_extra = []
    for row in extra:
        candidates = by_bucket.get(tuple(_bucket(v) for v in row), [])
        partner = next((i for i in candidates if i not in taken and close(row, missing[i])), None)
        if partner is None:
            partner = next((i for i, m in enumerate(missing) if i not in taken and close(row, m)), None)
        if partner is None:
            still_extra.append(row)
        else:
            taken.add(partner)
    return still_extra, [row for i, row in enumerate(missing) if i not in taken]


def _duplicated(rows: list[tuple], expected: list[tuple]) -> int:
    """How many rows ``rows`` repeats beyond the number of times ``expected`` holds them."""
    want = Counter(expected)
    excess = 0
    for row, count in Counter(rows).items():
        allowed = max(want[row], 1)
        excess += max(count - allowed, 0)
    return excess


def _duplicates_message(copies: int) -> str:
    copy = "rows is an exact copy of another row" if copies == 1 else "rows are exact copies of other rows"
    return (f"{copies} of your {copy}: duplicated rows usually come from a join that fans out "
            "(one row joined to several)")


def _count(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def column_problems(got: list[str], want: list[str]) -> list[str]:
    """What is wrong with the column names ``got`` (lower-case) against ``want``."""
    problems = []
    repeated = sorted(name for name, count in Counter(got).items() if count > 1)
    if repeated:
        problems.append(f"your result has more than one column named {', '.join(repeated)}: give each column "
                        "its own name (`as ...`)")
    missing = [name for name in want if name not in got]
    extra = [name for name in dict.fromkeys(got) if name not in want]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected column(s): {', '.join(extra)}")
    if missing or extra:
        problems.append(f"expected {_plural(len(want), 'column')}: {', '.join(want)} (any order, any case)")
    return problems


def shape_problems(actual: pd.DataFrame, columns: list[str], rows: int) -> list[str]:
    """What the student's check compares: the column names and the number of rows."""
    problems = column_problems(normalize_columns(actual), [c.lower() for c in columns])
    if len(actual) != rows:
        problems.append(f"your result has {_plural(len(actual), 'row')}; expected {_plural(rows, 'row')}")
        if not problems[:-1] and len(actual) > rows:
            own = rows_of(actual, normalize_columns(actual))
            copies = len(own) - len(set(own))
            if copies:
                problems.append(_duplicates_message(copies))
    return problems


def compare(actual: pd.DataFrame, expected: pd.DataFrame, ordered: bool = False) -> list[str]:
    """Every way ``actual`` differs from ``expected``, as sentences; an empty list means they are equal."""
    problems = column_problems(normalize_columns(actual), normalize_columns(expected))
    if problems:
        return problems
    columns = normalize_columns(expected)
    got, want = rows_of(actual, columns), rows_of(expected, columns)
    if len(got) != len(want):
        problems.append(f"your result has {_plural(len(got), 'row')}; expected {_plural(len(want), 'row')}")
    copies = _duplicated(got, want)
    if copies:
        problems.append(_duplicates_message(copies))
    extra, missing = unmatched(got, want)
    if copies and not missing and len(extra) == copies:
        return problems  # the duplicates are the whole difference
    if extra or missing:
        if extra and len(got) == len(want):
            problems.append(f"{_count(len(extra), 'of your rows holds', 'of your rows hold')} values that "
                            "differ from the expected rows")
        elif extra and not copies:
            problems.append(f"{_count(len(extra), 'of your rows matches', 'of your rows match')} no expected row")
        if missing and len(got) != len(want):
            problems.append(f"{_count(len(missing), 'expected row is', 'expected rows are')} missing from "
                            "your result")
        if not extra:
            return problems  # every row of yours is right: some are missing
        differing = [name for i, name in enumerate(columns)
                     if any(unmatched([(r[i],) for r in got], [(r[i],) for r in want]))]
        if differing:
            problems.append(f"column(s) whose values differ: {', '.join(differing)}")
        elif len(got) == len(want):
            problems.append("each column holds the right values, but they are paired into rows differently")
        return problems
    if ordered and not problems:
        position = next((i for i, (a, b) in enumerate(zip(got, want, strict=True)) if not close(a, b)), None)
        if position is not None:
            problems.append(f"the rows are right but not in the order asked for (row {position + 1} is out of "
                            "place): check your `order by`")
    return problems
