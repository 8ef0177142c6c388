"""The comparison engine on right and wrong answers, without a warehouse."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from incidentlab.checking import compare, shape_problems

EXPECTED = pd.DataFrame({
    "order_date": pd.to_datetime(["2024-02-06", "2024-02-07", "2024-02-08"]).date,
    "order_count": [1, 2, 3],
    "revenue": [Decimal("71.19"), Decimal("10.50"), Decimal("336.62")],
})


def frame(**columns):
    return pd.DataFrame(columns)


def shape(actual, expected):
    """The student's check compares a result with the expected column names and number of rows."""
    return shape_problems(actual, list(expected.columns), len(expected))


def test_identical_result_passes():
    assert compare(EXPECTED.copy(), EXPECTED) == []


def test_row_order_is_ignored_unless_ordered():
    shuffled = EXPECTED.iloc[[2, 0, 1]].reset_index(drop=True)
    assert compare(shuffled, EXPECTED) == []
    problems = compare(shuffled, EXPECTED, ordered=True)
    assert len(problems) == 1
    assert "order" in problems[0] and "row 1" in problems[0]


def test_ordered_right_order_passes():
    assert compare(EXPECTED.copy(), EXPECTED, ordered=True) == []


def test_column_names_are_case_insensitive_and_column_order_ignored():
    answer = EXPECTED[["revenue", "order_date", "order_count"]].rename(columns=str.upper)
    assert compare(answer, EXPECTED) == []
    assert shape(answer, EXPECTED) == []


def test_fan_out_duplicates_fail_and_are_named():
    fanned = pd.concat([EXPECTED, EXPECTED.iloc[[1]]], ignore_index=True)
    problems = compare(fanned, EXPECTED)
    text = " ".join(problems)
    assert "4 rows; expected 3 rows" in text
    assert "1 of your row is an exact copy" not in text
    assert "1 of your rows is an exact copy of another row" in text and "fans out" in text
    assert "fans out" in " ".join(shape(fanned, EXPECTED))


def test_duplicates_the_expected_result_holds_are_right():
    expected = frame(status=["ok", "ok", "late"])
    assert compare(frame(status=["late", "ok", "ok"]), expected) == []
    problems = compare(frame(status=["late", "ok"]), expected)
    assert "2 rows; expected 3 rows" in problems[0]


def test_date_equals_timestamp_at_midnight_only():
    as_timestamps = EXPECTED.assign(order_date=pd.to_datetime(EXPECTED["order_date"]))
    assert compare(as_timestamps, EXPECTED) == []
    as_datetimes = EXPECTED.assign(order_date=[dt.datetime(2024, 2, d) for d in (6, 7, 8)])
    assert compare(as_datetimes, EXPECTED) == []
    noon = EXPECTED.assign(order_date=[dt.datetime(2024, 2, d, 12) for d in (6, 7, 8)])
    assert "column(s) whose values differ: order_date" in compare(noon, EXPECTED)


def test_int_float_decimal_are_equal_when_the_value_is():
    answer = EXPECTED.assign(order_count=[1.0, 2.0, 3.0], revenue=[71.19, 10.5, 336.62])
    assert compare(answer, EXPECTED) == []
    nudged = EXPECTED.assign(revenue=[71.19 * (1 + 1e-9), 10.5, 336.62])
    assert compare(nudged, EXPECTED) == []


def test_a_real_difference_in_a_number_fails_and_names_the_column():
    answer = EXPECTED.assign(revenue=[Decimal("71.19"), Decimal("10.51"), Decimal("336.62")])
    problems = compare(answer, EXPECTED)
    assert "1 of your rows holds values that differ from the expected rows" in problems
    assert "column(s) whose values differ: revenue" in problems


def test_rounded_value_is_not_close_enough():
    expected = frame(hours_stale=[86.7902777])
    assert compare(frame(hours_stale=[86.8]), expected) != []
    assert compare(frame(hours_stale=[np.float32(86.7902777)]), expected) == []


@pytest.mark.parametrize("null", [None, np.nan, pd.NaT, pd.NA])
def test_every_kind_of_null_is_equal(null):
    expected = pd.DataFrame({"a": [1, None], "b": pd.array(["x", None], dtype=object)})
    answer = pd.DataFrame({"a": pd.array([1, null], dtype=object), "b": pd.array(["x", null], dtype=object)})
    assert compare(answer, expected) == []


def test_null_is_not_zero_or_empty_string():
    assert compare(frame(a=[0]), frame(a=[None])) != []
    assert compare(frame(a=[""]), frame(a=[None])) != []


def test_extra_column_is_named():
    problems = compare(EXPECTED.assign(customer_id=[1, 2, 3]), EXPECTED)
    assert "unexpected column(s): customer_id" in problems
    assert not any("missing" in p for p in problems)


def test_missing_column_is_named_with_the_expected_columns():
    problems = compare(EXPECTED.drop(columns=["revenue"]), EXPECTED)
    assert "missing column(s): revenue" in problems
    assert "expected 3 columns: order_date, order_count, revenue (any order, any case)" in problems


def test_same_column_twice_is_reported():
    answer = pd.DataFrame([[1, 1]], columns=["n", "N"])
    assert any("more than one column named n" in p for p in compare(answer, frame(n=[1])))


def test_empty_result_fails_with_counts():
    empty = EXPECTED.iloc[0:0]
    problems = compare(empty, EXPECTED)
    assert "your result has 0 rows; expected 3 rows" in problems
    assert problems[1:] == ["3 expected rows are missing from your result"]
    assert shape(empty, EXPECTED) == ["your result has 0 rows; expected 3 rows"]


def test_empty_expected_result_accepts_an_empty_answer():
    expected = frame(run_id=pd.Series([], dtype=object))
    assert compare(frame(run_id=pd.Series([], dtype="str")), expected) == []


def test_a_missing_row_is_counted_without_blaming_columns():
    problems = compare(EXPECTED.iloc[[0, 2]], EXPECTED)
    assert problems == ["your result has 2 rows; expected 3 rows", "1 expected row is missing from your result"]


def test_values_swapped_between_rows_fail():
    expected = frame(day=["mon", "tue"], n=[1, 2])
    problems = compare(frame(day=["mon", "tue"], n=[2, 1]), expected)
    assert "each column holds the right values, but they are paired into rows differently" in problems


def test_messages_never_show_expected_values():
    expected = frame(secret_total=[Decimal("98765.43")], secret_day=[dt.date(2031, 7, 19)])
    wrong = frame(secret_total=[1.0, 2.0], secret_day=[dt.date(2024, 1, 1)] * 2)
    text = " ".join(compare(wrong, expected) + shape(wrong, expected))
    for leaked in ("98765", "2031", "07-19", "7-19"):
        assert leaked not in text


def test_strings_compare_exactly():
    assert compare(frame(s=["Stale"]), frame(s=["stale"])) != []


def test_intervals_compare_by_length():
    expected = frame(age=[pd.Timedelta(hours=86, minutes=47)])
    assert compare(frame(age=[dt.timedelta(minutes=86 * 60 + 47)]), expected) == []
    assert compare(frame(age=[pd.Timedelta(hours=86)]), expected) != []


def test_lists_compare_element_wise():
    expected = frame(models=[np.array([1, 2])])
    assert compare(frame(models=[[1.0, 2.0]]), expected) == []
    assert compare(frame(models=[[2, 1]]), expected) != []
