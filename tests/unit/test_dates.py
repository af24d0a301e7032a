"""Calendar arithmetic against the standard library, element-wise and scalar."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from challenge_neuralworks import dates


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_days_weekday_and_day_of_year_match_datetime(day: dt.date) -> None:
    days = dates.days_from_civil(day.year, day.month, day.day)
    assert days == dates.to_days(day)
    assert dates.from_days(days) == day
    assert dates.weekday_of(days) == day.weekday()
    assert dates.day_of_year(day.year, day.month, day.day) == day.timetuple().tm_yday


def test_formulas_work_on_arrays() -> None:
    year = np.array([2017, 2017, 2020, 2000])
    month = np.array([1, 12, 2, 3])
    day = np.array([1, 31, 29, 1])
    expected = [dates.to_days(dt.date(*ymd)) for ymd in zip(year, month, day, strict=True)]
    assert dates.days_from_civil(year, month, day).tolist() == expected


def test_weekday_names_follow_the_data_set() -> None:
    assert dates.WEEKDAYS[dt.date(2017, 1, 1).weekday()] == "Domingo"
    assert dates.WEEKDAYS[dt.date(2017, 2, 3).weekday()] == "Viernes"
    assert "Miercoles" in dates.WEEKDAYS and "Sabado" in dates.WEEKDAYS


@pytest.mark.parametrize(
    ("day", "month", "weekday", "reference", "expected"),
    [
        (3, 2, 4, 2017, 2017),  # the challenge's example: Friday 3 Feb 2017
        (24, 11, 1, 2026, 2026),  # today's date, Tuesday
        (3, 2, 4, 2026, 2023),  # nearest Friday 3 Feb to 2026
        (29, 2, 3, 2017, 2024),  # 29 Feb on a Thursday: leap years only
    ],
)
def test_infer_year(day: int, month: int, weekday: int, reference: int, expected: int) -> None:
    year = dates.infer_year(day, month, weekday, reference)
    assert year == expected
    assert dt.date(year, month, day).weekday() == weekday


def test_infer_year_prefers_the_later_year_on_ties() -> None:
    # 1 Jan was a Sunday in 2017 and in 2023: from 2020 both are 3 years away
    assert dates.infer_year(1, 1, 6, 2020) == 2023


def test_invalid_dates() -> None:
    assert not dates.is_valid_date(2017, 2, 29)
    assert dates.is_valid_date(2016, 2, 29)
    assert not dates.is_valid_date(2017, 4, 31)


def test_nearest_distances() -> None:
    marks = np.array([10, 20, 40])
    to_next, since = dates.nearest_distances(np.array([10, 11, 19, 25, 40]), marks)
    assert to_next.tolist() == [0, 9, 1, 15, 0]
    assert since.tolist() == [0, 1, 9, 5, 0]


@pytest.mark.parametrize("count", [1, dates.FEW, dates.FEW + 1, 40])
def test_sorted_days_agree_with_the_vectorised_distances(count: int) -> None:
    """The per-date Python path (a request's few dates) and the numpy path (more) give the
    same distances, on marks, between them and beyond both ends of the table."""
    marks = np.array([10, 20, 21, 40])
    rng = np.random.default_rng(count)
    days = np.concatenate([[10, 21, 40, 0, 55], rng.integers(-5, 60, size=count)])[:count]
    to_next, since = dates.SortedDays(marks).distances(days)
    expected = dates.nearest_distances(days, marks)
    assert to_next.dtype == since.dtype == np.int64
    assert to_next.tolist() == expected[0].tolist()
    assert since.tolist() == expected[1].tolist()
