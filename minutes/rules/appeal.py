"""When a decision's notice is deemed received, when its rectification or appeal period ends, and when its
personal data comes off the published minutes (R-PUB-4, R-PUB-5, R-RECT-3, R-RECT-4).

Every day is a local day in Europe/Helsinki (`core.clock.LOCAL`): a moment is turned into its local date
first and days are added to dates, never to UTC instants, so a daylight-saving change cannot shift a day.
The day of notification is not counted (150/1930 2 §) and a last day that is not a business day moves to
the next one (5 §, see minutes.rules.holidays). A day of notification itself is never moved: it starts a
period, it does not end one. A period ends when its last local day ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType

from core.clock import LOCAL
from meetings.models import BodyKind
from minutes.rules.holidays import first_business_day


class InstructionKind(StrEnum):
    """The instructions a decision carries (R-RECT-5, KL 141 §)."""

    RECTIFICATION = "rectification"  # oikaisuvaatimusohje: executive, committees, sub-committees (KL 134 §)
    MUNICIPAL_APPEAL = "municipal_appeal"  # valitusosoitus: council, decisions on a claim (KL 135 §)
    APPEAL_BAN = "appeal_ban"  # muutoksenhakukielto: no period; the provision that bars appeal is cited


class Delivery(StrEnum):
    """How the notice went out, which sets the day it is deemed received."""

    PUBLIC_NETWORK = "public_network"  # members of the municipality: minutes on the web (KL 140 § 3 mom)
    LETTER = "letter"  # a party sent a letter (KL 139 §, HL 59 §)
    EMAIL = "email"  # a party sent an ordinary e-mail (13/2003 19 § as amended) [MEMORY]


PERIOD_DAYS: Mapping[InstructionKind, int] = MappingProxyType(
    {InstructionKind.RECTIFICATION: 14, InstructionKind.MUNICIPAL_APPEAL: 30}  # KL 138 §
)
PROVISIONS: Mapping[InstructionKind, str] = MappingProxyType(
    {InstructionKind.RECTIFICATION: "KL 134 §, 138 §", InstructionKind.MUNICIPAL_APPEAL: "KL 135 §, 138 §"}
)
NOTICE_DAYS: Mapping[Delivery, int] = MappingProxyType(
    {Delivery.PUBLIC_NETWORK: 7, Delivery.LETTER: 7, Delivery.EMAIL: 3}  # R-PUB-5, R-RECT-3
)


def instruction_for(kind: BodyKind, *, on_rectification_claim: bool = False) -> InstructionKind:
    """The usual instructions for a body's decision (R-RECT-1); an appeal ban is the secretary's call."""
    if kind == BodyKind.COUNCIL or on_rectification_claim:
        return InstructionKind.MUNICIPAL_APPEAL
    return InstructionKind.RECTIFICATION


def local_day(moment: datetime) -> date:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a moment of publication or sending must be timezone-aware")
    return moment.astimezone(LOCAL).date()


def deemed_notified(sent_at: datetime, delivery: Delivery) -> date:
    """The local day on which the notice is deemed received: the 7th (web, letter) or 3rd (e-mail) day."""
    return local_day(sent_at) + timedelta(days=NOTICE_DAYS[delivery])


def end_of_day(day: date) -> datetime:
    """The first local moment after `day`: when a period whose last day is `day` has ended."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL)


@dataclass(frozen=True, slots=True)
class Period:
    """A rectification or appeal period; an appeal ban has none (`last_day` is None)."""

    kind: InstructionKind
    notified_on: date
    provision: str
    last_day: date | None

    @property
    def ends_at(self) -> datetime | None:
        return None if self.last_day is None else end_of_day(self.last_day)


def period(kind: InstructionKind, notified_on: date, *, provision: str = "") -> Period:
    """The period that starts on the day after `notified_on` (R-RECT-3, R-RECT-4).

    `provision` is required for an appeal ban, which must cite what bars appeal (R-RECT-5), and refused for
    the other kinds, whose provisions are the law's own.
    """
    if kind == InstructionKind.APPEAL_BAN:
        if not provision.strip():
            raise ValueError("an appeal ban cites the provision that bars appeal (KL 141 §)")
        return Period(kind, notified_on, provision.strip(), None)
    if provision:
        raise ValueError("only an appeal ban names its own provision")
    last_day = first_business_day(notified_on + timedelta(days=PERIOD_DAYS[kind]))
    return Period(kind, notified_on, PROVISIONS[kind], last_day)


@dataclass(frozen=True, slots=True)
class AppealDates:
    """A decision in minutes published on the web: its period and when its personal data comes down."""

    published_at: datetime
    period: Period

    @property
    def notified_on(self) -> date:
        return self.period.notified_on

    @property
    def remove_personal_data_at(self) -> datetime:
        """R-PUB-4: when the period ends; with an appeal ban [INTERP], when the notification day ends."""
        return self.period.ends_at or end_of_day(self.period.notified_on)


def appeal_dates(published_at: datetime, kind: InstructionKind, *, provision: str = "") -> AppealDates:
    """The dates that follow from publishing checked minutes at `published_at` (R-PUB-4, R-PUB-5)."""
    notified_on = deemed_notified(published_at, Delivery.PUBLIC_NETWORK)
    return AppealDates(published_at, period(kind, notified_on, provision=provision))
