"""Notification, rectification and appeal periods, removal of personal data (R-PUB-4/5, R-RECT-3/4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.clock import LOCAL
from meetings.models import BodyKind
from minutes.rules.appeal import (
    PERIOD_DAYS,
    Delivery,
    InstructionKind,
    appeal_dates,
    deemed_notified,
    instruction_for,
    period,
)
from minutes.rules.holidays import is_business_day

RECTIFICATION, APPEAL, BAN = (
    InstructionKind.RECTIFICATION,
    InstructionKind.MUNICIPAL_APPEAL,
    InstructionKind.APPEAL_BAN,
)


def local(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A Finnish wall-clock moment, handed over in UTC as the database stores it."""
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL).astimezone(UTC)


def midnight_after(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL) + timedelta(days=1)


@pytest.mark.parametrize(
    ("published", "kind", "notified", "last_day"),
    [
        # R-PUB-5: deemed notified on the 7th day; R-RECT-3: 14 or 30 days, the notification day not counted.
        (local(2029, 9, 3), RECTIFICATION, date(2029, 9, 10), date(2029, 9, 24)),
        (local(2029, 9, 3), APPEAL, date(2029, 9, 10), date(2029, 10, 10)),
        # R-RECT-4 at Easter: Good Friday, Easter Saturday and Easter Monday are no last days.
        (local(2027, 3, 5), RECTIFICATION, date(2027, 3, 12), date(2027, 3, 30)),  # Good Friday 26.3
        (local(2030, 4, 1), RECTIFICATION, date(2030, 4, 8), date(2030, 4, 23)),  # Easter Monday 22.4
        (local(2035, 2, 15), APPEAL, date(2035, 2, 22), date(2035, 3, 27)),  # Easter Saturday 24.3
        (local(2035, 3, 1), RECTIFICATION, date(2035, 3, 8), date(2035, 3, 22)),  # Maundy Thursday stays
        (local(2028, 4, 18), APPEAL, date(2028, 4, 25), date(2028, 5, 26)),  # Ascension Day 25.5
        # Midsummer Eve on the Friday: to Monday.
        (local(2029, 6, 1), RECTIFICATION, date(2029, 6, 8), date(2029, 6, 25)),
        # Christmas: the Eve on a Wednesday, Christmas Day, Boxing Day, then a weekend.
        (local(2031, 11, 17), APPEAL, date(2031, 11, 24), date(2031, 12, 29)),
        (local(2033, 12, 5), RECTIFICATION, date(2033, 12, 12), date(2033, 12, 27)),  # Boxing Day, a Monday
        # Independence Day on a Monday.
        (local(2032, 11, 15), RECTIFICATION, date(2032, 11, 22), date(2032, 12, 7)),
        # New Year's Day on a Thursday; a weekend and then Epiphany; Epiphany on a Friday.
        (local(2031, 11, 25), APPEAL, date(2031, 12, 2), date(2032, 1, 2)),
        (local(2030, 12, 14), RECTIFICATION, date(2030, 12, 21), date(2031, 1, 7)),
        (local(2033, 11, 30), APPEAL, date(2033, 12, 7), date(2034, 1, 9)),
        # May Day on a Thursday; All Saints' Day (a Saturday).
        (local(2031, 4, 10), RECTIFICATION, date(2031, 4, 17), date(2031, 5, 2)),
        (local(2027, 10, 16), RECTIFICATION, date(2027, 10, 23), date(2027, 11, 8)),
        # Across daylight saving: 23.30 the night before the clocks go forward (28.3.2027) …
        (local(2027, 3, 27, 23, 30), RECTIFICATION, date(2027, 4, 3), date(2027, 4, 19)),
        # … 00.30 that night, still 27 March in UTC …
        (local(2027, 3, 28, 0, 30), RECTIFICATION, date(2027, 4, 4), date(2027, 4, 19)),
        # … and 23.30 the night before they go back (26.10.2031), notified on All Saints' Day.
        (local(2031, 10, 25, 23, 30), APPEAL, date(2031, 11, 1), date(2031, 12, 1)),
    ],
)
def test_appeal_dates(published: datetime, kind: InstructionKind, notified: date, last_day: date) -> None:
    dates = appeal_dates(published, kind)
    assert (dates.notified_on, dates.period.last_day) == (notified, last_day)
    # R-PUB-4: personal data comes down when the period ends, at the first local moment after its last day.
    assert dates.period.ends_at == dates.remove_personal_data_at == midnight_after(last_day)


def test_the_end_of_a_period_is_local_midnight_also_after_the_clocks_change() -> None:
    dates = appeal_dates(local(2027, 3, 27, 23, 30), RECTIFICATION)
    assert dates.remove_personal_data_at == datetime(2027, 4, 19, 21, 0, tzinfo=UTC)  # 24.00 EEST
    autumn = appeal_dates(local(2031, 10, 25, 23, 30), APPEAL)
    assert autumn.remove_personal_data_at == datetime(2031, 12, 1, 22, 0, tzinfo=UTC)  # 24.00 EET


def test_an_appeal_ban_has_no_period_and_cites_its_provision() -> None:
    """R-RECT-5: the notice cites the provision; R-PUB-4 [INTERP]: data comes down after notification."""
    dates = appeal_dates(local(2027, 3, 5), BAN, provision="KL 136 §")
    assert dates.period.last_day is None
    assert dates.period.ends_at is None
    assert dates.period.provision == "KL 136 §"
    assert dates.remove_personal_data_at == midnight_after(date(2027, 3, 12))
    # Notified on the Sunday the clocks go forward: that day has 23 hours, and its end is 24.00 EEST.
    spring = appeal_dates(local(2027, 3, 21), BAN, provision="KL 136 §")
    assert spring.remove_personal_data_at == datetime(2027, 3, 28, 21, 0, tzinfo=UTC)
    assert appeal_dates(local(2027, 3, 5), RECTIFICATION).period.provision == "KL 134 §, 138 §"
    assert appeal_dates(local(2027, 3, 5), APPEAL).period.provision == "KL 135 §, 138 §"


@pytest.mark.parametrize(
    ("sent", "delivery", "notified"),
    [
        # R-RECT-3: a letter on the 7th day after sending; the day is not moved off Christmas Eve.
        (local(2027, 12, 17, 16), Delivery.LETTER, date(2027, 12, 24)),
        # R-RECT-3 [MEMORY]: an ordinary e-mail on the 3rd day, by the local date of sending.
        (local(2027, 12, 31, 23, 59), Delivery.EMAIL, date(2028, 1, 3)),
        (datetime(2027, 12, 31, 22, 30, tzinfo=UTC), Delivery.EMAIL, date(2028, 1, 4)),  # 00.30 on New Year
        # R-PUB-5: the web.
        (local(2027, 12, 17), Delivery.PUBLIC_NETWORK, date(2027, 12, 24)),
    ],
)
def test_deemed_notified(sent: datetime, delivery: Delivery, notified: date) -> None:
    assert deemed_notified(sent, delivery) == notified


def test_a_period_from_a_letter_starts_the_day_after_notification() -> None:
    """R-RECT-3/4: notified on Christmas Eve; 14 days on is Friday 7 January, a business day."""
    assert period(RECTIFICATION, date(2027, 12, 24)).last_day == date(2028, 1, 7)


@pytest.mark.parametrize(
    ("kind", "on_claim", "instruction"),
    [
        # R-RECT-1: rectification for the executive, committees, sub-committees and those below them …
        (BodyKind.EXECUTIVE, False, RECTIFICATION),
        (BodyKind.COMMITTEE, False, RECTIFICATION),
        (BodyKind.SUBCOMMITTEE, False, RECTIFICATION),
        (BodyKind.OTHER, False, RECTIFICATION),
        # … municipal appeal for the council and for a decision on a claim for rectification.
        (BodyKind.COUNCIL, False, APPEAL),
        (BodyKind.EXECUTIVE, True, APPEAL),
    ],
)
def test_instruction_for(kind: BodyKind, on_claim: bool, instruction: InstructionKind) -> None:
    assert instruction_for(kind, on_rectification_claim=on_claim) == instruction


def test_malformed_input_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        appeal_dates(datetime(2027, 3, 5, 12, 0), RECTIFICATION)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="provision"):
        appeal_dates(local(2027, 3, 5), BAN, provision=" ")
    with pytest.raises(ValueError, match="provision"):
        appeal_dates(local(2027, 3, 5), RECTIFICATION, provision="KL 136 §")


ZONES = st.sampled_from([UTC, LOCAL, timezone(timedelta(hours=-5)), timezone(timedelta(hours=13))])
# Hypothesis bounds are naive wall-clock times; each drawn moment gets one of ZONES.
WALL_CLOCK = (datetime(2027, 1, 1), datetime(2035, 12, 31))  # noqa: DTZ001
MOMENTS = st.datetimes(*WALL_CLOCK, timezones=ZONES, allow_imaginary=False)


@settings(max_examples=500, deadline=None, database=None)
@given(MOMENTS, st.sampled_from([RECTIFICATION, APPEAL]))
def test_every_last_day_is_a_business_day_no_earlier_than_the_law_allows(
    published: datetime, kind: InstructionKind
) -> None:
    """R-RECT-3/4: the last day is the first business day on or after notification + the period."""
    dates = appeal_dates(published, kind)
    last_day = dates.period.last_day
    assert last_day is not None
    earliest = dates.notified_on + timedelta(days=PERIOD_DAYS[kind])
    assert (dates.notified_on - published.astimezone(LOCAL).date()).days == 7
    assert is_business_day(last_day)
    assert earliest <= last_day < earliest + timedelta(days=6)
    assert not any(is_business_day(earliest + timedelta(days=n)) for n in range((last_day - earliest).days))
    removal = dates.remove_personal_data_at.astimezone(LOCAL)
    assert (removal.date(), removal.hour, removal.minute) == (last_day + timedelta(days=1), 0, 0)
