"""Finnish public holidays, and the days on which a statutory deadline cannot end (R-RECT-4).

Laki säädettyjen määräaikain laskemisesta 150/1930, 5 § as amended by 358/1966, reads: "Kun määräpäivä
tai määräajan viimeinen päivä on pyhäpäivä, itsenäisyyspäivä, vapunpäivä, joulu- tai juhannusaatto tahi
arkilauantai, saa tehtävän toimittaa ensimmäisenä arkipäivänä sen jälkeen." (If the last day is a holy
day, Independence Day, May Day, Christmas Eve or Midsummer Eve, or a Saturday, the act may still be done on
the first weekday after it.) A pyhäpäivä is every Sunday and every church holiday of kirkkolaki (4 luku
3 §): New Year's Day, Epiphany, Good Friday, Easter Sunday, Easter Monday, Ascension Day, Whit Sunday,
Midsummer Day (the Saturday after 19 June), All Saints' Day (the Saturday after 30 October), Christmas Day
and Boxing Day (St Stephen's Day). So a deadline never ends on:

- a Saturday or a Sunday: Easter Saturday, Midsummer Day and All Saints' Day always fall on a Saturday,
  Easter Sunday and Whit Sunday on a Sunday, so the law needs no separate words for them;
- New Year's Day (1.1), Epiphany (6.1), Good Friday, Easter Monday, May Day (1.5), Ascension Day (39 days
  after Easter Sunday), Independence Day (6.12), Christmas Day (25.12) and Boxing Day (26.12);
- Christmas Eve (24.12) and Midsummer Eve (the Friday before Midsummer Day), which are not holidays but are
  named in 5 §.

New Year's Eve, Maundy Thursday and May Day Eve are ordinary business days. Easter follows the Gregorian
computus. These are the rules in force since 1992, when Epiphany and Ascension Day came back from the
Saturdays they were kept on for two decades; earlier years are refused rather than answered wrongly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from types import MappingProxyType

FIRST_YEAR = 1992
SATURDAY = 5
DAY = timedelta(days=1)


class Holiday(StrEnum):
    NEW_YEARS_DAY = "new_years_day"  # uudenvuodenpäivä
    EPIPHANY = "epiphany"  # loppiainen
    GOOD_FRIDAY = "good_friday"  # pitkäperjantai
    EASTER_SUNDAY = "easter_sunday"  # pääsiäispäivä
    EASTER_MONDAY = "easter_monday"  # toinen pääsiäispäivä
    MAY_DAY = "may_day"  # vapunpäivä
    ASCENSION_DAY = "ascension_day"  # helatorstai
    WHIT_SUNDAY = "whit_sunday"  # helluntaipäivä
    MIDSUMMER_EVE = "midsummer_eve"  # juhannusaatto: not a holiday, named in 150/1930 5 §
    MIDSUMMER_DAY = "midsummer_day"  # juhannuspäivä
    ALL_SAINTS_DAY = "all_saints_day"  # pyhäinpäivä
    INDEPENDENCE_DAY = "independence_day"  # itsenäisyyspäivä
    CHRISTMAS_EVE = "christmas_eve"  # jouluaatto: not a holiday, named in 150/1930 5 §
    CHRISTMAS_DAY = "christmas_day"  # joulupäivä
    BOXING_DAY = "boxing_day"  # tapaninpäivä, toinen joulupäivä


EVES = frozenset({Holiday.MIDSUMMER_EVE, Holiday.CHRISTMAS_EVE})


def easter_sunday(year: int) -> date:
    """Easter Sunday by the Gregorian computus (the anonymous algorithm of 1876)."""
    golden = year % 19
    century, year_of_century = divmod(year, 100)
    leap_centuries, century_rest = divmod(century, 4)
    moon_correction = (century - (century + 8) // 25 + 1) // 3
    epact = (19 * golden + century - leap_centuries - moon_correction + 15) % 30
    leap_years, year_rest = divmod(year_of_century, 4)
    to_sunday = (32 + 2 * century_rest + 2 * leap_years - epact - year_rest) % 7
    shift = (golden + 11 * epact + 22 * to_sunday) // 451
    month, day = divmod(epact + to_sunday - 7 * shift + 114, 31)
    return date(year, month, day + 1)


def _first_saturday(day: date) -> date:
    return day + timedelta(days=(SATURDAY - day.weekday()) % 7)


@cache
def holidays(year: int) -> Mapping[Holiday, date]:
    """The day of each holiday and eve in `year`; two may share a day (Ascension Day and May Day in 2008)."""
    if year < FIRST_YEAR:
        raise ValueError(f"Finnish holidays are computed from {FIRST_YEAR} on")
    easter = easter_sunday(year)
    midsummer = _first_saturday(date(year, 6, 20))
    return MappingProxyType(
        {
            Holiday.NEW_YEARS_DAY: date(year, 1, 1),
            Holiday.EPIPHANY: date(year, 1, 6),
            Holiday.GOOD_FRIDAY: easter - 2 * DAY,
            Holiday.EASTER_SUNDAY: easter,
            Holiday.EASTER_MONDAY: easter + DAY,
            Holiday.MAY_DAY: date(year, 5, 1),
            Holiday.ASCENSION_DAY: easter + 39 * DAY,
            Holiday.WHIT_SUNDAY: easter + 49 * DAY,
            Holiday.MIDSUMMER_EVE: midsummer - DAY,
            Holiday.MIDSUMMER_DAY: midsummer,
            Holiday.ALL_SAINTS_DAY: _first_saturday(date(year, 10, 31)),
            Holiday.INDEPENDENCE_DAY: date(year, 12, 6),
            Holiday.CHRISTMAS_EVE: date(year, 12, 24),
            Holiday.CHRISTMAS_DAY: date(year, 12, 25),
            Holiday.BOXING_DAY: date(year, 12, 26),
        }
    )


def holidays_on(day: date) -> tuple[Holiday, ...]:
    """The holidays and eves that fall on `day`, usually none or one."""
    return tuple(name for name, when in holidays(day.year).items() if when == day)


def is_business_day(day: date) -> bool:
    """A weekday (Monday to Friday) that is none of the days above (150/1930 5 §)."""
    return day.weekday() < SATURDAY and not holidays_on(day)


def first_business_day(day: date) -> date:
    """`day` itself if a deadline may end on it, else the first business day after it (R-RECT-4)."""
    while not is_business_day(day):
        day += DAY
    return day
