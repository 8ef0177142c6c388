"""The value check on the spot: a student's result against a salted fingerprint of the key's, with no key here.

For each question the course computes, from the answer key's result on the question's warehouse
(``incidentlab.grading.fingerprints``), a few slow salted hashes of that result in the judge's canonical form:

- the whole result as a multiset of rows (and, for a question that asks for an order, as a list);
- each column as a multiset of values, so that a wrong answer can be told which columns differ;
- whether the result repeats a row (so that duplicated rows can be named).

The canonical form is the judge's (``incidentlab.checking.compare``): columns by lower-cased name in any order,
rows in any order unless the question asks for one, numbers across integer, float and decimal, a date as its
midnight timestamp, every kind of null as null. Numbers are the one place where a hash cannot tolerate: the judge
accepts a value within a relative 1e-6 (absolute 1e-9) of the key's, a hash only an equal one. So each number is
cut to a few significant digits (``Quantizer``: 5 at best, 2 at worst) on a grid the course picks per column so
that no value of the key lies within twice the judge's tolerance of a cell's edge: every value the judge accepts
falls in the key's cell, and never gets a ✗. The price is the other way round: a number that differs from the
key's beyond the 5th (at worst the 2nd) significant digit can get a ✓ here and still fail grading. A question
with a column no grid fits is checked on its shape only, as before.

What a fingerprint gives away, and why that is nothing a student could not get anyway:

- No SQL: it is computed from the key's *result*, and many queries give one result.
- No value beyond guess-and-check. The hashes are salted per question (a table computed for one question or one
  course is useless for another) and slow (scrypt, tens of milliseconds each), so testing a guessed result
  offline costs what running ``check()`` on it costs. There is no hash per row: a row of a small domain (a
  run id and a yes/no) could be enumerated one row at a time, which the check's hints never allow. A column's
  hash is what the hint "column(s) whose values differ" already answers for any guess, and a column of one small
  value (a count) can be guessed either way, one try per ``check()``.
- A value found that way is worth nothing at grading: the judge runs the query on other versions of the incident
  (other dates, amounts, runs), where a typed-in value is wrong.
"""

from __future__ import annotations

import contextlib
import decimal
import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from incidentlab.checking.compare import ABS_TOL, REL_TOL, canonical, normalize_columns

FORMAT = 1
# scrypt's cost: 2**13 x 8 x 1 KiB = 8 MiB of memory and tens of milliseconds per hash
SCRYPT = {"n": 2**13, "r": 8, "p": 1, "dklen": 16}
FILE_SUFFIX = ".fingerprints.json"


@dataclass(frozen=True)
class Quantizer:
    """Numbers to ``digits`` significant digits, on a grid shifted by ``shift`` of a cell (0.5: rounding)."""

    digits: int
    shift: float

    def number(self, x: float):
        if not math.isfinite(x):
            return ("num", repr(x))
        if abs(x) < 1e-6:  # the judge's absolute tolerance reaches around zero: one cell for all of it
            return ("num", 0)
        exact = decimal.Decimal(x)
        exponent = exact.adjusted()
        scaled = abs(exact).scaleb(self.digits - 1 - exponent) + decimal.Decimal(repr(self.shift))
        cell = int(scaled.to_integral_value(rounding=decimal.ROUND_FLOOR))
        if cell == 10**self.digits:  # rounded up to the next power of ten: the same cell as that power's
            exponent, cell = exponent + 1, 10 ** (self.digits - 1)
        return ("num", 1 if x > 0 else -1, exponent, cell)

    def value(self, value):
        """The canonical form of one value, numbers on this grid."""
        return self._cut(canonical(value))

    def _cut(self, value):
        if value[0] == "num":
            return self.number(value[1])
        if value[0] == "list":
            return ("list", tuple(self._cut(item) for item in value[1]))
        return value

    def safe(self, value) -> bool:
        """Whether every number the judge would accept in place of ``value`` falls in its cell."""
        return self._safe(canonical(value))

    def _safe(self, value) -> bool:
        if value[0] == "list":
            return all(self._safe(item) for item in value[1])
        if value[0] != "num" or not math.isfinite(value[1]):
            return True
        x = value[1]
        margin = 2 * (REL_TOL * abs(x) + ABS_TOL)
        return self.number(x - margin) == self.number(x + margin)


# Finest first, each with eight shifts. 5 digits: a cell is 1e-5 to 1e-4 of the value, at least 5 times the margin
# (a number written with 5 digits or fewer sits at a cell's centre); each coarser grid makes a fitting shift likelier.
GRIDS = [Quantizer(digits, shift) for digits in (5, 4, 3, 2)
         for shift in (0.5, 0.0, 0.25, 0.75, 0.125, 0.375, 0.625, 0.875)]


def _line(value) -> str:
    return repr(value)


def _sorted_columns(frame: pd.DataFrame) -> list[tuple[str, int]]:
    """(lower-cased name, position) of each column, by name."""
    return sorted((name, i) for i, name in enumerate(normalize_columns(frame)))


def canonical_rows(frame: pd.DataFrame, grids: dict[str, Quantizer]) -> tuple[list[str], list[list[str]]]:
    """(columns sorted by lower-cased name, each row as its values' canonical lines in that order), each column's
    numbers on its grid."""
    columns = _sorted_columns(frame)
    cut = [(grids[name].value if name in grids else canonical, i) for name, i in columns]
    rows = [[_line(value(row[i])) for value, i in cut] for row in frame.itertuples(index=False, name=None)]
    return [name for name, _ in columns], rows


def fitting_grid(values: list) -> Quantizer | None:
    """The finest grid on which every value of a column lies safely inside its cell, if one does."""
    return next((grid for grid in GRIDS if all(grid.safe(value) for value in values)), None)


def digest(salt: bytes, label: str, lines: list[str]) -> str:
    """The slow salted hash of ``lines`` under ``label`` (what they are: the rows, a column)."""
    text = "\n".join([label, *lines]).encode("utf-8")
    return hashlib.scrypt(text, salt=salt, **SCRYPT).hex()


def _row_line(row: list[str]) -> str:
    return "\t".join(row)


@dataclass(frozen=True)
class Fingerprint:
    """One question's fingerprint, as the course ships it."""

    salt: bytes
    grids: dict[str, Quantizer]  # column (lower-case) -> the grid of its numbers
    rows: str  # the rows as a multiset
    ordered_rows: str | None  # the rows in order (a question that asks for an order)
    by_column: dict[str, str]  # column -> its values as a multiset
    repeats_rows: bool  # the key's result holds a row more than once

    @classmethod
    def of(cls, frame: pd.DataFrame, salt: bytes, ordered: bool) -> Fingerprint | None:
        """The fingerprint of the key's result ``frame``; None when no grid fits the numbers of a column."""
        grids: dict[str, Quantizer] = {}
        for name, i in _sorted_columns(frame):
            grid = fitting_grid(frame.iloc[:, i].tolist())
            if grid is None:
                return None
            grids[name] = grid
        columns, rows = canonical_rows(frame, grids)
        lines = [_row_line(row) for row in rows]
        return cls(salt=salt, grids=grids,
                   rows=digest(salt, "rows", sorted(lines)),
                   ordered_rows=digest(salt, "ordered rows", lines) if ordered else None,
                   by_column={name: digest(salt, f"column {name}", sorted(row[i] for row in rows))
                              for i, name in enumerate(columns)},
                   repeats_rows=len(set(lines)) < len(lines))

    def to_json(self) -> dict:
        return {"salt": self.salt.hex(), "grids": {name: [g.digits, g.shift] for name, g in self.grids.items()},
                "rows": self.rows, "ordered_rows": self.ordered_rows, "by_column": self.by_column,
                "repeats_rows": self.repeats_rows}

    @classmethod
    def from_json(cls, data: dict) -> Fingerprint:
        return cls(salt=bytes.fromhex(data["salt"]),
                   grids={name: Quantizer(int(digits), float(shift))
                          for name, (digits, shift) in data["grids"].items()},
                   rows=data["rows"], ordered_rows=data.get("ordered_rows"), by_column=dict(data["by_column"]),
                   repeats_rows=bool(data["repeats_rows"]))

    def problems(self, frame: pd.DataFrame) -> list[str]:
        """How ``frame`` (right columns, right number of rows) differs from the key's result; empty if it does
        not. Only what the hashes tell: which columns differ, duplicated rows, the order."""
        columns, rows = canonical_rows(frame, self.grids)
        if columns != sorted(self.grids):
            return ["the columns are not the expected ones"]  # the shape check comes first; this is a safeguard
        lines = [_row_line(row) for row in rows]
        if digest(self.salt, "rows", sorted(lines)) == self.rows:
            if self.ordered_rows is None or digest(self.salt, "ordered rows", lines) == self.ordered_rows:
                return []
            return ["the rows are right but not in the order asked for: check your `order by`"]
        problems = []
        copies = sum(count - 1 for count in Counter(lines).values())
        if copies and not self.repeats_rows:
            problems.append(f"{copies} of your rows {'is an exact copy' if copies == 1 else 'are exact copies'} "
                            "of another row: duplicated rows usually come from a join that fans out (one row "
                            "joined to several)")
        differing = [name for i, name in enumerate(columns)
                     if digest(self.salt, f"column {name}", sorted(row[i] for row in rows)) != self.by_column[name]]
        if differing:
            problems.append(f"column(s) whose values differ: {', '.join(differing)}")
        elif not copies:
            problems.append("each column holds the right values, but they are paired into rows differently")
        return problems


# -- where the fingerprints are --------------------------------------------------------------------------------
def file_name(module: str) -> str:
    return f"{module}{FILE_SUFFIX}"


def built_path(module: str) -> Path:
    """Beside the module's built warehouses: where the course writes them (``make warehouses``, ``make release``)."""
    from incidentlab.paths import warehouses_dir

    return warehouses_dir() / module / file_name(module)


def load(module: str) -> dict[str, Fingerprint]:
    """question -> its fingerprint: those beside the built warehouses, else the installed wheel's; {} if none
    (or if the file cannot be read: the check then says what it always said)."""
    candidates = [resources.files("incidentlab.exercises") / file_name(module)]
    with contextlib.suppress(RuntimeError):  # an installed wheel, away from any checkout: its own file
        candidates.insert(0, built_path(module))
    for source in candidates:
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if data.get("format") != FORMAT or data.get("module") != module:
            continue
        try:
            return {name: Fingerprint.from_json(fields) for name, fields in data["questions"].items()}
        except (KeyError, TypeError, ValueError):
            return {}
    return {}
