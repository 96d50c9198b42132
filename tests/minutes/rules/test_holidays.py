"""Finnish holidays and the days a deadline cannot end on (R-RECT-4, 150/1930 5 §)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minutes.rules.holidays import (
    Holiday,
    easter_sunday,
    first_business_day,
    holidays,
    holidays_on,
    is_business_day,
)

YEARS = st.integers(1992, 2400)
DAYS = st.dates(date(1992, 1, 1), date(2400, 12, 24))
PROPERTIES = settings(max_examples=500, deadline=None, database=None)


@pytest.mark.parametrize(
    "easter",
    [
        # Dates from published almanacs, not from the algorithm under test.
        date(2000, 4, 23),
        date(2008, 3, 23),
        date(2024, 3, 31),
        date(2025, 4, 20),
        date(2026, 4, 5),
        date(2027, 3, 28),
        date(2028, 4, 16),
        date(2029, 4, 1),
        date(2030, 4, 21),
        date(2031, 4, 13),
        date(2032, 3, 28),
        date(2033, 4, 17),
        date(2034, 4, 9),
        date(2035, 3, 25),
        date(2038, 4, 25),  # the latest Easter possible
        date(2285, 3, 22),  # the earliest Easter possible
    ],
)
def test_easter_sunday(easter: date) -> None:
    assert easter_sunday(easter.year) == easter


def test_the_holidays_of_2025_as_the_almanac_lists_them() -> None:
    assert dict(holidays(2025)) == {
        Holiday.NEW_YEARS_DAY: date(2025, 1, 1),
        Holiday.EPIPHANY: date(2025, 1, 6),
        Holiday.GOOD_FRIDAY: date(2025, 4, 18),
        Holiday.EASTER_SUNDAY: date(2025, 4, 20),
        Holiday.EASTER_MONDAY: date(2025, 4, 21),
        Holiday.MAY_DAY: date(2025, 5, 1),
        Holiday.ASCENSION_DAY: date(2025, 5, 29),
        Holiday.WHIT_SUNDAY: date(2025, 6, 8),
        Holiday.MIDSUMMER_EVE: date(2025, 6, 20),
        Holiday.MIDSUMMER_DAY: date(2025, 6, 21),
        Holiday.ALL_SAINTS_DAY: date(2025, 11, 1),
        Holiday.INDEPENDENCE_DAY: date(2025, 12, 6),
        Holiday.CHRISTMAS_EVE: date(2025, 12, 24),
        Holiday.CHRISTMAS_DAY: date(2025, 12, 25),
        Holiday.BOXING_DAY: date(2025, 12, 26),
    }


@pytest.mark.parametrize(
    ("day", "names"),
    [
        # The moving days in 2027–2035: Midsummer Day is the Saturday of 20–26 June, its eve the Friday
        # before; All Saints' Day the Saturday of 31 October – 6 November.
        (date(2027, 6, 25), (Holiday.MIDSUMMER_EVE,)),
        (date(2027, 6, 26), (Holiday.MIDSUMMER_DAY,)),
        (date(2027, 11, 6), (Holiday.ALL_SAINTS_DAY,)),
        (date(2027, 3, 26), (Holiday.GOOD_FRIDAY,)),
        (date(2027, 5, 6), (Holiday.ASCENSION_DAY,)),
        (date(2029, 6, 22), (Holiday.MIDSUMMER_EVE,)),
        (date(2031, 6, 20), (Holiday.MIDSUMMER_EVE,)),  # 20 June is itself a Friday: the eve, not the day
        (date(2031, 6, 21), (Holiday.MIDSUMMER_DAY,)),
        (date(2032, 6, 26), (Holiday.MIDSUMMER_DAY,)),  # 20 June is a Sunday: the last Saturday possible
        (date(2032, 10, 31), ()),  # a Sunday; All Saints' Day was the day before
        (date(2032, 10, 30), ()),
        (date(2032, 11, 6), (Holiday.ALL_SAINTS_DAY,)),
        (date(2033, 10, 31), ()),
        (date(2033, 11, 5), (Holiday.ALL_SAINTS_DAY,)),
        (date(2035, 5, 3), (Holiday.ASCENSION_DAY,)),
        (date(2035, 3, 23), (Holiday.GOOD_FRIDAY,)),
        # Two at once: Easter on 23 March puts Ascension Day on May Day.
        (date(2008, 5, 1), (Holiday.MAY_DAY, Holiday.ASCENSION_DAY)),
        # Days that are not holidays although people often take them off.
        (date(2027, 12, 31), ()),  # New Year's Eve
        (date(2027, 3, 25), ()),  # Maundy Thursday
        (date(2027, 4, 30), ()),  # May Day Eve
        (date(2035, 3, 24), ()),  # Easter Saturday: a Saturday, not a holiday
    ],
)
def test_holidays_on(day: date, names: tuple[Holiday, ...]) -> None:
    assert holidays_on(day) == names


@pytest.mark.parametrize(
    ("day", "business"),
    [
        # 150/1930 5 §: holy days, Independence Day, May Day, Christmas and Midsummer Eve, every Saturday.
        (date(2027, 3, 25), True),  # Maundy Thursday
        (date(2027, 3, 26), False),  # Good Friday
        (date(2027, 3, 27), False),  # Easter Saturday
        (date(2027, 3, 29), False),  # Easter Monday
        (date(2027, 3, 30), True),
        (date(2028, 5, 1), False),  # May Day, a Monday
        (date(2028, 5, 25), False),  # Ascension Day
        (date(2029, 6, 22), False),  # Midsummer Eve
        (date(2031, 12, 24), False),  # Christmas Eve, a Wednesday
        (date(2031, 12, 23), True),
        (date(2031, 12, 29), True),
        (date(2032, 12, 6), False),  # Independence Day, a Monday
        (date(2033, 12, 31), False),  # a Saturday
        (date(2034, 12, 29), True),  # a Friday between the holidays
        (date(2031, 12, 31), True),  # New Year's Eve, a Wednesday
        (date(2032, 1, 1), False),  # New Year's Day, a Thursday
        (date(2034, 1, 6), False),  # Epiphany, a Friday
    ],
)
def test_is_business_day(day: date, business: bool) -> None:
    assert is_business_day(day) is business


@pytest.mark.parametrize(
    ("last_day", "moved_to"),
    [
        # R-RECT-4: the last day moves past every non-business day in its way.
        (date(2027, 3, 26), date(2027, 3, 30)),  # Good Friday → Tuesday after Easter Monday
        (date(2031, 12, 24), date(2031, 12, 29)),  # Christmas Eve, Day, Boxing Day, then a weekend
        (date(2031, 1, 4), date(2031, 1, 7)),  # a weekend, then Epiphany on the Monday
        (date(2029, 6, 22), date(2029, 6, 25)),  # Midsummer Eve → Monday
        (date(2027, 6, 28), date(2027, 6, 28)),  # a business day stays
    ],
)
def test_first_business_day(last_day: date, moved_to: date) -> None:
    assert first_business_day(last_day) == moved_to


def test_years_before_the_current_rules_are_refused() -> None:
    """Epiphany and Ascension Day were kept on Saturdays until the early 1990s."""
    with pytest.raises(ValueError, match="1992"):
        holidays(1991)


@PROPERTIES
@given(YEARS)
def test_the_moving_holidays_fall_where_the_law_puts_them(year: int) -> None:
    easter = easter_sunday(year)
    assert easter.weekday() == 6
    assert date(year, 3, 22) <= easter <= date(year, 4, 25)
    named = holidays(year)
    assert {day.year for day in named.values()} == {year}
    assert named[Holiday.GOOD_FRIDAY].weekday() == 4
    assert named[Holiday.ASCENSION_DAY].weekday() == 3
    assert named[Holiday.WHIT_SUNDAY].weekday() == 6
    assert named[Holiday.MIDSUMMER_DAY].weekday() == 5
    assert date(year, 6, 20) <= named[Holiday.MIDSUMMER_DAY] <= date(year, 6, 26)
    assert named[Holiday.MIDSUMMER_EVE] == named[Holiday.MIDSUMMER_DAY] - timedelta(days=1)
    assert named[Holiday.ALL_SAINTS_DAY].weekday() == 5
    assert date(year, 10, 31) <= named[Holiday.ALL_SAINTS_DAY] <= date(year, 11, 6)


@PROPERTIES
@given(DAYS)
def test_first_business_day_is_the_nearest_one(day: date) -> None:
    moved = first_business_day(day)
    assert is_business_day(moved)
    assert day <= moved < day + timedelta(days=6)  # at most Christmas Eve on a Wednesday to the Monday
    skipped = (day + timedelta(days=n) for n in range((moved - day).days))
    assert not any(is_business_day(d) for d in skipped)
