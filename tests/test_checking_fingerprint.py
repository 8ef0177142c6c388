"""The value check's fingerprint: whatever the judge accepts gets a ✓, what it rejects for a clear difference a ✗,
and the shipped file holds salts and hashes, nothing a value or the key's SQL can be read from."""

import datetime as dt
import decimal
import json
import random
import re

import numpy as np
import pandas as pd
import pytest

from incidentlab.checking import fingerprint
from incidentlab.checking.compare import ABS_TOL, REL_TOL, compare
from incidentlab.checking.fingerprint import GRIDS, Fingerprint, Quantizer

SALT = bytes(range(16))


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch, request):
    """The hashes here test the canonical form, not scrypt's cost: a cheap scrypt keeps them fast."""
    if "shipped" not in request.node.name:
        monkeypatch.setattr(fingerprint, "SCRYPT", {"n": 2**4, "r": 1, "p": 1, "dklen": 16})


def test_the_shipped_hashes_are_slow_and_memory_hard():
    assert fingerprint.SCRYPT["n"] * fingerprint.SCRYPT["r"] * 128 >= 8 * 2**20  # 8 MiB per hash


def verdict(actual: pd.DataFrame, expected: pd.DataFrame, ordered: bool = False) -> tuple[list[str], list[str]]:
    """(the judge's problems, the fingerprint's problems) for one answer."""
    fp = Fingerprint.of(expected, SALT, ordered)
    assert fp is not None
    return compare(actual, expected, ordered), fp.problems(actual)


def edges(k: float) -> list[float]:
    """Values the judge accepts for ``k``, at the edge of its tolerance (and just inside it)."""
    tol = max(REL_TOL * abs(k), ABS_TOL)
    return [k + tol * 0.999, k - tol * 0.999, k + tol * 0.5, np.nextafter(k, np.inf), np.nextafter(k, -np.inf)]


NASTY = [0.0, 1e-10, -1e-10, 5e-7, 1.0, 100.0, 99.99995, 999999.5, 0.999999, 9.99995, -3.14159265, 1e15,
         123456.789, 2.675, 0.1 + 0.2, 1 / 3, 10740.96, 41, 7]


@pytest.mark.parametrize("k", NASTY)
def test_every_value_the_judge_accepts_at_the_edge_gets_a_tick(k):
    expected = pd.DataFrame({"x": [k], "label": ["a"]})
    for s in edges(float(k)):
        actual = pd.DataFrame({"x": [s], "label": ["a"]})
        judge, ours = verdict(actual, expected)
        assert judge == [], (k, s)  # the edge is inside the judge's tolerance
        assert ours == [], f"{s!r} is accepted by the judge for {k!r} but gets a ✗"


def test_random_results_that_the_judge_accepts_always_get_a_tick():
    rng = random.Random(21)
    for _ in range(40):
        size = rng.randint(1, 30)
        key = list({rng.choice([rng.uniform(-1e6, 1e6), round(rng.uniform(0, 1e4), 2), rng.randint(0, 500),
                                rng.uniform(-1, 1) * 10 ** rng.randint(-8, 9)]) for _ in range(size)})
        expected = pd.DataFrame({"v": key, "w": [round(x, 2) for x in key]})
        fp = Fingerprint.of(expected, SALT, False)
        if fp is None:  # no grid fits: the check says the values are graded later (rare, and never wrong)
            continue
        near = [rng.choice(edges(x)) for x in key]
        actual = pd.DataFrame({"W": [round(x, 2) for x in key], "V": near}).sample(frac=1, random_state=1)
        assert compare(actual, expected) == []
        assert fp.problems(actual) == []


def test_a_grid_fits_a_column_when_a_value_sits_on_an_edge_of_the_finest():
    fine = GRIDS[0]
    edge = 1.23455  # rounded to 5 digits, 1.2345|5 is a cell's edge
    assert not fine.safe(edge)
    assert fingerprint.fitting_grid([edge, 3.0]) not in (None, fine)


@pytest.mark.parametrize("grid", GRIDS)
def test_each_grid_is_monotone_across_powers_of_ten(grid):
    xs = sorted({float(x) for base in (1.0, 10.0, 100.0, 0.01) for x in
                 np.linspace(base * (1 - 1e-4), base * (1 + 1e-4), 201)})
    cells = [grid.number(x) for x in xs]
    # a value's cell never comes back once left
    seen, previous = set(), None
    for cell in cells:
        if cell != previous:
            assert cell not in seen, f"{grid}: cell {cell} is not contiguous"
            seen.add(cell)
            previous = cell


@pytest.mark.parametrize("wrong", [
    pd.DataFrame({"n": [1, 2, 4], "day": pd.to_datetime(["2024-02-08", "2024-02-09", "2024-02-10"])}),
    pd.DataFrame({"n": [1, 2, 3], "day": pd.to_datetime(["2024-02-08", "2024-02-09", "2024-02-11"])}),
    pd.DataFrame({"n": [1.1, 2, 3], "day": pd.to_datetime(["2024-02-08", "2024-02-09", "2024-02-10"])}),
    pd.DataFrame({"n": [1, 2, None], "day": pd.to_datetime(["2024-02-08", "2024-02-09", "2024-02-10"])}),
])
def test_a_clear_difference_gets_a_cross_naming_only_the_column(wrong):
    expected = pd.DataFrame({"N": [3, 2, 1], "Day": [dt.date(2024, 2, 10), dt.date(2024, 2, 9), dt.date(2024, 2, 8)]})
    judge, ours = verdict(wrong, expected)
    assert judge and len(ours) == 1 and ours[0].startswith("column(s) whose values differ: ")
    assert ours[0].split(": ")[1] in ("n", "day")


def test_the_judges_canonical_form_is_kept():
    expected = pd.DataFrame({"N": [3, None], "Day": [dt.date(2024, 2, 10), dt.date(2024, 2, 9)], "t": ["a", "b"]})
    same = pd.DataFrame({"t": ["b", "a"], "day": pd.to_datetime(["2024-02-09", "2024-02-10"]),
                         "n": [np.nan, decimal.Decimal("3.000")]})
    assert verdict(same, expected) == ([], [])
    other_case = pd.DataFrame({"t": ["B", "a"], "day": same.day, "n": same.n})
    assert verdict(other_case, expected)[1] == ["column(s) whose values differ: t"]


def test_duplicated_rows_and_pairing_and_order_are_named():
    expected = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    doubled = pd.DataFrame({"a": [1, 1, 3], "b": ["x", "x", "z"]})
    assert "exact copy of another row" in Fingerprint.of(expected, SALT, False).problems(doubled)[0]
    swapped = pd.DataFrame({"a": [1, 2, 3], "b": ["y", "x", "z"]})
    assert verdict(swapped, expected)[1] == ["each column holds the right values, but they are paired into rows "
                                             "differently"]
    reversed_rows = expected.iloc[::-1]
    assert verdict(reversed_rows, expected, ordered=True)[1] == [
        "the rows are right but not in the order asked for: check your `order by`"]
    assert verdict(reversed_rows, expected, ordered=False) == ([], [])


def test_the_shipped_form_holds_hashes_not_values():
    expected = pd.DataFrame({"run_id": ["run_017"], "hours": [41.25], "at": [dt.datetime(2024, 2, 8, 6, 0)]})
    text = json.dumps(Fingerprint.of(expected, SALT, True).to_json())
    for value in ("run_017", "41.25", "2024", "06:00"):
        assert value not in text
    data = json.loads(text)
    assert set(data) == {"salt", "grids", "rows", "ordered_rows", "by_column", "repeats_rows"}
    assert Fingerprint.from_json(data) == Fingerprint.of(expected, SALT, True)


def test_salts_differ_per_question_so_hashes_do_too():
    frame = pd.DataFrame({"n": [4]})
    one, two = Fingerprint.of(frame, SALT, False), Fingerprint.of(frame, bytes(16), False)
    assert one.rows != two.rows and one.by_column != two.by_column


def test_a_question_whose_column_no_grid_fits_has_no_fingerprint(monkeypatch):
    monkeypatch.setattr(fingerprint, "GRIDS", [Quantizer(5, 0.5)])
    assert Fingerprint.of(pd.DataFrame({"x": [1.23455]}), SALT, False) is None


def test_the_shipped_files_of_the_built_warehouses_hold_no_value_or_sql(warehouses):
    from incidentlab.datasets import module_names
    from incidentlab.exercises import load

    for module in module_names():
        data = json.loads(fingerprint.built_path(module).read_text(encoding="utf-8"))
        assert data["module"] == module and set(data["questions"]) <= {q.name for q in load(module)}
        assert len(data["questions"]) >= len(load(module)) - 1, "most questions must be checked on the spot"
        salts = [q["salt"] for q in data["questions"].values()]
        assert len(set(salts)) == len(salts), "a salt per question"
        for name, fields in data["questions"].items():
            hashes = [fields["salt"], fields["rows"], fields["ordered_rows"] or "", *fields["by_column"].values()]
            assert all(re.fullmatch(r"[0-9a-f]*", text) for text in hashes), name
            assert set(fields["by_column"]) == set(fields["grids"]) == {c.lower() for c in getattr(
                load(module), name).columns}, f"{name}: only the question's public column names"
        assert fingerprint.load(module).keys() == data["questions"].keys()
