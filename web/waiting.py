"""What waits for a person on their home page: a list of providers that features add themselves to.

A provider is an async function `(session, viewer, now) -> list[Waiting]`; register it with `@provides`
(or `PROVIDERS.append`) in the feature's own module, imported by web.app. The decision procedure adds
"stances to give", the minutes "minutes to check" and the procedure's records to open and to check;
items to prepare are here already. A provider reads only what the viewer may see, and a failing provider
must not take the home page down: its error is logged and the others still show.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.text import translatable
from meetings.access import Capability, Viewer
from meetings.decision_procedure.models import ProcedureItem, ProcedureStance
from meetings.live.models import LiveMeeting
from meetings.models import AgendaItem, Body, Meeting, MeetingStatus
from meetings.rules.decision_procedure import ProcedureState
from minutes.models import (
    MinutesRecord,
    MinutesReview,
    MinutesState,
    ProcedureCheck,
    ProcedureCheckReview,
    ProcedureCheckState,
)

log = logging.getLogger("kokous.web")


@dataclass(frozen=True, slots=True)
class Waiting:
    """One thing for the person to do: `kind` is a translatable label, `title` is data shown as it is."""

    kind: str
    title: str
    href: str
    due: datetime | None = None


Provider = Callable[[AsyncSession, Viewer, datetime], Awaitable[list[Waiting]]]
PROVIDERS: list[Provider] = []


def provides(provider: Provider) -> Provider:
    PROVIDERS.append(provider)
    return provider


async def waiting_for(session: AsyncSession, viewer: Viewer, now: datetime) -> list[Waiting]:
    """Everything every provider finds for the viewer, soonest due first, undated last."""
    found: list[Waiting] = []
    for provider in list(PROVIDERS):
        try:
            found += await provider(session, viewer, now)
        except Exception:
            log.exception("a home page provider failed: %s", getattr(provider, "__name__", provider))
    return sorted(found, key=lambda w: (w.due is None, w.due or now, w.title))


PREPARE = translatable("Agenda to prepare and call to send")


@provides
async def agendas_to_prepare(session: AsyncSession, viewer: Viewer, now: datetime) -> list[Waiting]:
    """Draft meetings of the bodies whose agendas the viewer prepares, from today on."""
    bodies = [b for b in viewer.body_roles if viewer.can(Capability.PREPARE, b)]
    if not bodies:
        return []
    rows = await session.execute(
        select(Meeting, Body.name)
        .join(Body, Body.id == Meeting.body_id)
        .where(
            Meeting.body_id.in_(bodies),
            Meeting.status == MeetingStatus.DRAFT,
            Meeting.starts_at >= now.replace(hour=0, minute=0, second=0, microsecond=0),
        )
        .order_by(Meeting.starts_at)
        .limit(20)
    )
    return [
        Waiting(PREPARE, f"{name} {m.number}/{m.year}", f"/meetings/{m.id}/edit", m.starts_at)
        for m, name in rows.tuples()
    ]


STANCE = translatable("Stance to give in the decision procedure")


@provides
async def stances_to_give(session: AsyncSession, viewer: Viewer, now: datetime) -> list[Waiting]:
    """Open decision-procedure items of the viewer's bodies on which the viewer has stated no stance yet."""
    bodies = [b for b in viewer.body_roles if viewer.can(Capability.STATE_STANCE, b)]
    if not bodies or viewer.user_id is None:
        return []
    stated = select(ProcedureStance.procedure_id).where(ProcedureStance.user_id == viewer.user_id)
    rows = await session.execute(
        select(ProcedureItem, AgendaItem.title, AgendaItem.section)
        .join(AgendaItem, AgendaItem.id == ProcedureItem.item_id)
        .where(
            ProcedureItem.body_id.in_(bodies),
            ProcedureItem.state == ProcedureState.OPEN,
            ProcedureItem.deadline_at > now,
            ProcedureItem.id.not_in(stated),
        )
        .order_by(ProcedureItem.deadline_at)
        .limit(20)
    )
    return [
        Waiting(STANCE, f"§ {section} {title}", f"/procedure/{item.id}", item.deadline_at)
        for item, title, section in rows.tuples()
    ]


CHECK = translatable("Minutes to check")
SIGN = translatable("Minutes to sign")


@provides
async def minutes_to_check_or_sign(session: AsyncSession, viewer: Viewer, now: datetime) -> list[Waiting]:
    """Minutes whose checker (the viewer) has not reviewed this version, or that wait for their signature."""
    if viewer.user_id is None:
        return []
    me = viewer.user_id
    rows = await session.execute(
        select(MinutesRecord, LiveMeeting.checkers, Meeting.number, Meeting.year, Body.name)
        .join(Meeting, Meeting.id == MinutesRecord.meeting_id)
        .join(Body, Body.id == Meeting.body_id)
        .outerjoin(LiveMeeting, LiveMeeting.meeting_id == Meeting.id)
        .where(
            MinutesRecord.state.in_([MinutesState.CHECKING, MinutesState.CHECKED, MinutesState.SIGNING]),
            Meeting.body_id.in_(list(viewer.body_roles)),
        )
        .limit(50)
    )
    reviewed = {
        (minutes_id, version)
        for minutes_id, version in (
            await session.execute(
                select(MinutesReview.minutes_id, MinutesReview.version).where(MinutesReview.checker_id == me)
            )
        ).tuples()
    }
    found: list[Waiting] = []
    for minutes, checkers, number, year, name in rows.tuples():
        title, href = f"{name} {number}/{year}", f"/minutes/{minutes.id}"
        if minutes.state == MinutesState.CHECKING and me in (checkers or []):
            if (minutes.id, minutes.version) not in reviewed:
                found.append(Waiting(CHECK, title, href))
        elif (minutes.state == MinutesState.CHECKED and me == minutes.chair_id) or (
            minutes.state == MinutesState.SIGNING and me == minutes.secretary_id
        ):
            found.append(Waiting(SIGN, title, href))
    return found


CHECK_PROCEDURE = translatable("Decisions of the decision procedure to check")
OPEN_PROCEDURE_CHECK = translatable("Decisions of the decision procedure ready to be checked")


@provides
async def procedure_records_to_check(session: AsyncSession, viewer: Viewer, now: datetime) -> list[Waiting]:
    """Decision-procedure records before the meeting (R-CHECK-5) that wait for the viewer's review."""
    bodies = [b for b in viewer.body_roles if viewer.reads(b)]
    if not bodies or viewer.user_id is None:
        return []
    me = viewer.user_id
    reviewed = select(ProcedureCheckReview.check_id).where(ProcedureCheckReview.checker_id == me)
    rows = await session.execute(
        select(ProcedureCheck, Meeting, Body.name)
        .join(Meeting, Meeting.id == ProcedureCheck.meeting_id)
        .join(Body, Body.id == Meeting.body_id)
        .where(
            Meeting.body_id.in_(bodies),
            ProcedureCheck.state == ProcedureCheckState.CHECKING,
            ProcedureCheck.id.not_in(reviewed),
        )
        .order_by(Meeting.starts_at)
        .limit(50)
    )
    return [
        Waiting(
            CHECK_PROCEDURE, f"{name} {m.number}/{m.year}", f"/meetings/{m.id}/procedure-check", m.starts_at
        )
        for check, m, name in rows.tuples()
        if me in [int(c) for c in check.checkers]
    ]


@provides
async def procedure_records_to_open(session: AsyncSession, viewer: Viewer, now: datetime) -> list[Waiting]:
    """Meetings not yet held whose items were decided in the procedure, for whoever chooses the checkers of
    their record (R-CHECK-5): nothing has been opened for them, neither the record nor the minutes."""
    bodies = [b for b in viewer.body_roles if viewer.can(Capability.CHOOSE_CHECKERS, b)]
    if not bodies:
        return []
    rows = await session.execute(
        select(Meeting, Body.name)
        .join(Body, Body.id == Meeting.body_id)
        .where(
            Meeting.body_id.in_(bodies),
            Meeting.status == MeetingStatus.CALLED,
            Meeting.id.in_(
                select(ProcedureItem.meeting_id).where(ProcedureItem.state == ProcedureState.DECIDED)
            ),
            Meeting.id.not_in(select(ProcedureCheck.meeting_id)),
            Meeting.id.not_in(select(MinutesRecord.meeting_id)),
        )
        .order_by(Meeting.starts_at)
        .limit(20)
    )
    return [
        Waiting(
            OPEN_PROCEDURE_CHECK,
            f"{name} {m.number}/{m.year}",
            f"/meetings/{m.id}/procedure-check",
            m.starts_at,
        )
        for m, name in rows.tuples()
    ]
