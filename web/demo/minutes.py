"""The demo's past meetings of the executive board, played through the live meeting's actions, and their
minutes: one meeting's minutes signed and published, the other's with the checkers, waiting for the demo
member's approval, the chair's signature and the secretary's countersignature (docs/minutes.md).

The first meeting was public and its public items were recorded (the secretary's setting); once its minutes
were published the secretary offered the recordings to the public. Where the demo is given a data directory,
a short generated clip stands for each public item's recording (web.demo.recording), so the public's
recordings page has something to play; the closed item has none (R-EMEET-6).

The meetings happened in the past: the demo seeds as of a week ago (web.demo.live.as_of_last_week), and
these meetings are played on a clock of their own that starts there and moves through the meetings' days
(three and two days ago), then is put back. The audit log's times therefore only ever grow (`kokous audit
verify` requires it), and nothing reads the machine's clock. The board's members are the live meeting demo's
(web.demo.live).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.queries import user_by_username
from core.clock import LOCAL, FixedClock
from core.db import session_clock
from meetings.actions.agenda import ItemSpec, do_add_item
from meetings.actions.call import do_send_call
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from meetings.live.actions.attendance import do_record_arrival, do_record_departure
from meetings.live.actions.dissents import do_register_dissent
from meetings.live.actions.items import (
    do_approve_order,
    do_close_discussion,
    do_decide_without_vote,
    do_record_recusal,
    do_take_up_item,
)
from meetings.live.actions.proposals import do_make_proposal, do_second_proposal
from meetings.live.actions.sitting import (
    do_choose_checkers,
    do_close_meeting,
    do_declare_lawful,
    do_open_meeting,
)
from meetings.live.actions.voting import do_cast_ballot, do_close_vote, do_open_vote
from meetings.live.events import EventType
from meetings.live.models import ItemHandling, MeetingEventRecord
from meetings.models import AgendaItem, Body, Meeting, Publicity
from minutes.drafting import Wording
from minutes.workflow import (
    do_edit_wording,
    do_open_draft,
    do_publish,
    do_review,
    do_send_for_checking,
    do_sign,
    render_for_signing,
)
from web.demo.recording import write_clip
from web.recordings import new_path, set_offered_to_public, set_recording

ACTOR = "system:demo"
# The live meeting demo's board members who take part (web.demo.live.BOARD), beside the chair and the member.
BOARD = ("jasen3", "jasen4", "jasen5", "jasen6", "jasen7")
LEAD_DAYS = 4  # the board's call period (R-CALL-1): both calls go out four days before the first meeting


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL)


class _Play:
    """The session with the rewound clock, which the meetings' steps move forward (never back)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.saved = session.sync_session.info.get("clock")
        self.clock = FixedClock(session_clock(session)())
        session.sync_session.info["clock"] = self.clock

    def done(self) -> None:
        """Put the session's own clock back."""
        if self.saved is None:
            self.session.sync_session.info.pop("clock", None)
        else:
            self.session.sync_session.info["clock"] = self.saved

    def move_to(self, moment: datetime) -> None:
        self.clock.now = max(self.clock.now, moment)

    async def step(self, work: Awaitable[Any], minutes: float = 2) -> Any:
        """Move the clock on, then run `work` (a coroutine reads the clock only once it runs)."""
        self.clock.advance(minutes=minutes)
        return await work


async def _id(session: AsyncSession, username: str) -> int:
    user = await user_by_username(session, username)
    if user is None:
        raise LookupError(f"demo user {username} was not created")
    return user.id


async def _called(
    play: _Play,
    body: Body,
    day: date,
    specs: list[ItemSpec],
    *,
    secretary: str,
    chair: str,
    base_url: str,
    sender: str,
    public: bool = False,
) -> tuple[Meeting, list[AgendaItem]]:
    session = play.session
    spec = MeetingSpec(starts_at=_at(day, 16), place="Kunnantalo, kokoushuone Pihlaja", is_public=public)
    meeting = await do_create_meeting(session, body=body, spec=spec, actor=secretary)
    items = [await do_add_item(session, meeting=meeting, spec=s, actor=secretary) for s in specs]
    await do_send_call(session, meeting=meeting, base_url=base_url, sender=sender, actor=chair)
    return meeting, items


async def _vote(play: _Play, meeting: Meeting, item: AgendaItem, chair: str, choices: dict[int, str]) -> None:
    session = play.session
    await play.step(do_close_discussion(session, meeting=meeting, item=item, actor=chair))
    handling = await session.get(ItemHandling, item.id)
    order = list(handling.order) if handling else []
    await play.step(do_approve_order(session, meeting=meeting, item=item, order=order, actor=chair))
    vote = await play.step(do_open_vote(session, meeting=meeting, item=item, actor=chair))
    for person, choice in choices.items():
        await play.step(
            do_cast_ballot(session, vote=vote, user_id=person, choice=choice, actor=f"user:{person}"),
            minutes=0.2,
        )
    await play.step(do_close_vote(session, meeting=meeting, vote=vote, actor=chair))


async def _hold(
    play: _Play,
    meeting: Meeting,
    items: list[AgendaItem],
    *,
    chair: int,
    secretary: int,
    present: list[int],
    checkers: list[int],
    contested: Callable[[AgendaItem], Awaitable[None]],
) -> None:
    """Open, attendance, lawfulness, checkers; the first item contested, the others as proposed; close."""
    session, by_chair, by_secretary = play.session, f"user:{chair}", f"user:{secretary}"
    await play.step(do_open_meeting(session, meeting=meeting, chair_id=chair, actor=by_chair))
    for person in present:
        await play.step(
            do_record_arrival(session, meeting=meeting, user_id=person, remote=False, actor=by_secretary),
            minutes=0.5,
        )
    await play.step(do_declare_lawful(session, meeting=meeting, actor=by_chair))
    await play.step(do_choose_checkers(session, meeting=meeting, checkers=checkers, actor=by_chair))
    for n, item in enumerate(items):
        await play.step(do_take_up_item(session, meeting=meeting, item=item, actor=by_chair))
        if n == 0:
            await contested(item)
        else:
            await play.step(do_close_discussion(session, meeting=meeting, item=item, actor=by_chair))
            await play.step(do_decide_without_vote(session, meeting=meeting, item=item, actor=by_chair))
    await play.step(do_close_meeting(session, meeting=meeting, actor=by_chair), minutes=5)


async def _clips(session: AsyncSession, meeting: Meeting, data_dir: Path) -> None:
    """A generated clip for each public item taken up, named as the hub names a recording started then."""
    query = (
        select(AgendaItem.section, MeetingEventRecord.at)
        .join(AgendaItem, AgendaItem.id == MeetingEventRecord.item_id)
        .where(
            MeetingEventRecord.meeting_id == meeting.id,
            MeetingEventRecord.type == str(EventType.ITEM_TAKEN_UP),
            AgendaItem.publicity == Publicity.PUBLIC,
        )
        .order_by(MeetingEventRecord.version)
    )
    for n, (section, at) in enumerate((await session.execute(query)).tuples()):
        write_clip(new_path(data_dir, meeting.id, section, at), hue=70 * n)


async def seed_minutes(
    session: AsyncSession,
    body: Body,
    *,
    now: datetime,
    base_url: str,
    sender: str,
    recordings: Path | None = None,
) -> None:
    """Two past meetings of the board `body` and their minutes (signed and published; with the checkers);
    the first was public and recorded, with a clip per public item under `recordings` (a data directory)."""
    others = [await _id(session, n) for n in BOARD]
    chair, member, secretary = [await _id(session, n) for n in ("chair", "member", "secretary")]
    by_chair, by_secretary = f"user:{chair}", f"user:{secretary}"
    play = _Play(session)
    if play.clock() > now - timedelta(days=LEAD_DAYS + 2):
        raise LookupError("the past meetings are seeded on a clock a week behind (demo_live.as_of_last_week)")
    first = play.clock().astimezone(LOCAL).date() + timedelta(days=LEAD_DAYS)
    try:
        # Both calls go out now, as of a week ago. 1. Three days ago: a sale of land with a disqualification,
        # a counter-proposal, a tied vote decided by the chair and a dissent; a confidential staff matter. Its
        # minutes are checked, signed, and published the next day. 2. Two days ago: a grant decided by vote;
        # its minutes wait for the demo member's check.
        held_on = first
        meeting, items = await _called(
            play,
            body,
            held_on,
            [
                ItemSpec(
                    title="Tontin myynti Rantakadulta",
                    description="Yritys on tarjoutunut ostamaan tontin 12 Rantakadulta.",
                    proposal="Kunnanhallitus myy tontin tarjouksen mukaisesti 48 000 eurolla.",
                ),
                ItemSpec(
                    title="Virkasuhteen päättäminen",
                    publicity="confidential",
                    confidentiality_basis="JulkL 24 § 1 mom 32 k",
                    description="Henkilöstöasia, jonka asiakirjat ovat salassa pidettäviä.",
                    proposal="Kunnanhallitus päättää esityksen mukaisesti.",
                ),
                ItemSpec(
                    title="Talousarvion toteutuminen tammi–syyskuussa",
                    description="Käyttötalouden menot ovat toteutuneet 74-prosenttisesti.",
                    proposal="Kunnanhallitus merkitsee toteutuman tiedoksi.",
                ),
            ],
            secretary=by_secretary,
            chair=by_chair,
            base_url=base_url,
            sender=sender,
            public=True,
        )
        await play.step(set_recording(session, meeting, on=True, actor=by_secretary))
        second, second_items = await _called(
            play,
            body,
            first + timedelta(days=1),
            [
                ItemSpec(
                    title="Avustus kyläyhdistykselle",
                    description="Kyläyhdistys hakee avustusta kylätalon korjaukseen.",
                    proposal="Kunnanhallitus myöntää 5 000 euron avustuksen.",
                ),
                ItemSpec(
                    title="Kunnan edustajat yhtiökokouksiin",
                    proposal="Kunnanhallitus nimeää edustajat liitteen mukaisesti.",
                ),
            ],
            secretary=by_secretary,
            chair=by_chair,
            base_url=base_url,
            sender=sender,
        )
        play.move_to(_at(held_on, 16))
        kaisa, matti, anna, juha, _pekka = others

        async def sale(item: AgendaItem) -> None:
            await play.step(
                do_record_recusal(
                    session,
                    meeting=meeting,
                    item=item,
                    user_id=matti,
                    ground="board_or_ceo",
                    decided_by_body=False,
                    explanation="Ostajayhtiön hallituksen jäsen.",
                    actor=by_secretary,
                )
            )
            counter = await play.step(
                do_make_proposal(
                    session,
                    meeting=meeting,
                    item=item,
                    user_id=member,
                    kind="counter",
                    text="Tontti myydään julkisella tarjouskilpailulla.",
                    actor=f"user:{member}",
                )
            )
            await play.step(
                do_second_proposal(
                    session, meeting=meeting, proposal=counter, user_id=kaisa, actor=f"user:{kaisa}"
                )
            )
            await _vote(play, meeting, item, by_chair, {chair: "jaa", member: "ei", kaisa: "ei", anna: "jaa"})
            await play.step(
                do_register_dissent(
                    session,
                    meeting=meeting,
                    item=item,
                    user_id=member,
                    reasons="Kunnan omaisuus on myytävä avoimesti.",
                    actor=f"user:{member}",
                )
            )
            await play.step(do_record_departure(session, meeting=meeting, user_id=juha, actor=by_secretary))

        await _hold(
            play,
            meeting,
            items,
            chair=chair,
            secretary=secretary,
            present=[chair, member, kaisa, matti, anna, juha],
            checkers=[member, kaisa],
            contested=sale,
        )
        play.clock.advance(hours=2)
        minutes = await do_open_draft(session, meeting=meeting, secretary_id=secretary, actor=by_secretary)
        await play.step(
            do_edit_wording(
                session,
                minutes=minutes,
                user_id=secretary,
                wording=Wording(checking_note="Pöytäkirja on tarkastettu ja hyväksytty."),
                note="Tarkastusmerkintä; julkaisu seuraavana päivänä",
                publish_at=_at(held_on + timedelta(days=1), 12),
                actor=by_secretary,
            )
        )
        await play.step(do_send_for_checking(session, minutes=minutes, user_id=secretary, actor=by_secretary))
        for checker in (member, kaisa):
            await play.step(
                do_review(
                    session,
                    minutes=minutes,
                    user_id=checker,
                    approve=True,
                    comment="",
                    actor=f"user:{checker}",
                ),
                minutes=60,
            )
        rendering = await render_for_signing(session, minutes)
        await play.step(
            do_sign(
                session,
                minutes=minutes,
                user_id=chair,
                name="Helena Puheenjohtaja",
                actor=by_chair,
                rendering=rendering,
            )
        )
        await play.step(
            do_sign(session, minutes=minutes, user_id=secretary, name="Mikko Sihteeri", actor=by_secretary)
        )
        await play.step(do_publish(session, minutes=minutes, user_id=secretary, actor=by_secretary))
        await play.step(set_offered_to_public(session, meeting, on=True, actor=by_secretary))
        if recordings is not None:
            await _clips(session, meeting, recordings)

        held_on, meeting, items = first + timedelta(days=1), second, second_items
        play.move_to(_at(held_on, 16))

        async def grant(item: AgendaItem) -> None:
            counter = await play.step(
                do_make_proposal(
                    session,
                    meeting=meeting,
                    item=item,
                    user_id=anna,
                    kind="counter",
                    text="Avustukseksi myönnetään 8 000 euroa.",
                    actor=f"user:{anna}",
                )
            )
            await play.step(
                do_second_proposal(
                    session, meeting=meeting, proposal=counter, user_id=juha, actor=f"user:{juha}"
                )
            )
            await _vote(
                play,
                meeting,
                item,
                by_chair,
                {chair: "jaa", member: "jaa", kaisa: "jaa", anna: "ei", juha: "ei"},
            )

        await _hold(
            play,
            meeting,
            items,
            chair=chair,
            secretary=secretary,
            present=[chair, member, kaisa, anna, juha],
            checkers=[member, kaisa],
            contested=grant,
        )
        play.clock.advance(hours=20)
        minutes = await do_open_draft(session, meeting=meeting, secretary_id=secretary, actor=by_secretary)
        await play.step(do_send_for_checking(session, minutes=minutes, user_id=secretary, actor=by_secretary))
        await play.step(
            do_review(
                session, minutes=minutes, user_id=kaisa, approve=True, comment="", actor=f"user:{kaisa}"
            )
        )
    finally:
        play.done()
