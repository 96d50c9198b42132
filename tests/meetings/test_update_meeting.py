"""meeting.update: after the call a new time, place or mode goes to everyone called with an updated
invitation (same UID, higher SEQUENCE), and those sent the invitation before who are no longer called get a
METHOD:CANCEL; publicity alone, or any change before the call, sends nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update

from auth.actions import do_set_active
from auth.queries import user_by_username
from core.clock import LOCAL
from meetings.actions.agenda import ITEM_FIELDS, ItemSpec, do_update_item
from meetings.actions.meetings import MeetingSpec, do_update_meeting
from meetings.models import Meeting
from meetings.queries import meeting_items
from tests.conftest import BASE_URL
from tests.factories import audit_entries
from tests.meetings.called_meeting import (
    PUBLIC_TITLE,
    SECRET_TITLE,
    SENDER,
    Town,
    cancel,
    change,
    event_of,
    make_town,
    meeting_row,
    member_for,
    outbox,
    recorded,
    send_call,
)
from web.context import AppContext

LATER = datetime(2026, 12, 10, 17, 30, tzinfo=LOCAL)
NEXT_WEEK = datetime(2026, 12, 17, 16, 0, tzinfo=LOCAL)


@pytest.fixture
async def town(context: AppContext) -> Town:
    return await make_town(context)


async def test_new_time_after_the_call_sends_an_updated_invitation(context: AppContext, town: Town) -> None:
    await send_call(context, town)
    [called, *_] = await outbox(context, "meeting.call")

    await change(context, town, starts_at=LATER)

    updates = await outbox(context, "meeting.call_updated")
    assert sorted(m.recipient for m in updates) == sorted(
        m.recipient for m in await outbox(context, "meeting.call")
    )
    _, invited = event_of(called)
    for message in updates:
        calendar, event = event_of(message)
        assert str(calendar["METHOD"]) == "REQUEST"
        assert str(event["UID"]) == str(invited["UID"])
        assert event.decoded("SEQUENCE") == invited.decoded("SEQUENCE") + 1
        assert event.decoded("DTSTART") == datetime(2026, 12, 10, 15, 30, tzinfo=UTC)
        assert message.subject.startswith("Muutettu kokouskutsu / Ändrad möteskallelse: Kunnanhallitus")
        assert message.subject.endswith("10.12.2026 klo 17.30")
        assert "Kokouksen tiedot ovat muuttuneet (aika)." in message.body
        assert "Mötets uppgifter har ändrats (tid)." in message.body
        assert "Aika: torstai 10.12.2026 klo 17.30" in message.body
        assert "§ 2 Salassa pidettävä asia" in message.body  # R-PUB-7: only mentioned
        assert SECRET_TITLE not in message.body
    [entry] = await audit_entries(context, "meeting.updated")
    assert json.loads(entry.data) == {
        "changed": ["starts_at"],
        "agenda_version": 2,
        "recipients": 4,
        "withdrawn": 0,
    }
    assert (await meeting_row(context, town)).calendar_sequence == 2


async def test_place_and_mode_are_named_in_both_languages(context: AppContext, town: Town) -> None:
    await send_call(context, town)

    await change(context, town, place="Valtuustosali", mode="hybrid")

    [message, *_] = await outbox(context, "meeting.call_updated")
    assert "Kokouksen tiedot ovat muuttuneet (paikka, kokoustapa)." in message.body
    assert "Mötets uppgifter har ändrats (plats, mötesform)." in message.body
    assert str(event_of(message)[1]["LOCATION"]) == "Valtuustosali"


async def test_publicity_change_sends_no_mail(context: AppContext, town: Town) -> None:
    await send_call(context, town)

    await change(context, town, is_public=True)

    assert await outbox(context, "meeting.call_updated") == []
    [entry] = await audit_entries(context, "meeting.updated")
    assert json.loads(entry.data) == {
        "changed": ["is_public"],
        "agenda_version": 2,
        "recipients": 0,
        "withdrawn": 0,
    }
    assert (await meeting_row(context, town)).calendar_sequence == 1


async def test_change_before_the_call_sends_no_mail(context: AppContext, town: Town) -> None:
    await change(context, town, starts_at=LATER)

    assert await outbox(context, "meeting.call_updated") == []
    [entry] = await audit_entries(context, "meeting.updated")
    assert json.loads(entry.data) == {
        "changed": ["starts_at"],
        "agenda_version": 0,
        "recipients": 0,
        "withdrawn": 0,
    }
    assert (await meeting_row(context, town)).calendar_sequence == 0


async def test_same_details_again_change_and_send_nothing(context: AppContext, town: Town) -> None:
    await send_call(context, town)

    await change(context, town)

    assert await outbox(context, "meeting.call_updated") == []
    assert await audit_entries(context, "meeting.updated") == []


async def test_someone_no_longer_called_is_taken_off_the_event_once(context: AppContext, town: Town) -> None:
    """A member whose term ends before the new date got the call: a METHOD:CANCEL without STATUS takes the
    event out of their calendar (RFC 5546 3.2.5), and nothing about the meeting reaches them again."""
    await member_for(context, town, "lahtija", date(2025, 6, 1), date(2026, 12, 12))
    await send_call(context, town)
    assert "lahtija@example.test" in {m.recipient for m in await outbox(context, "meeting.call")}

    await change(context, town, starts_at=NEXT_WEEK)

    assert "lahtija@example.test" not in {m.recipient for m in await outbox(context, "meeting.call_updated")}
    [withdrawal] = await outbox(context, "meeting.call_withdrawn")
    assert withdrawal.recipient == "lahtija@example.test"
    calendar, event = event_of(withdrawal)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert "STATUS" not in event  # only this attendee leaves; the meeting is still held
    assert str(event["UID"]) == f"meeting-{town.meeting_id}@kokous.test"
    assert event.decoded("SEQUENCE") == 2
    assert str(event["ATTENDEE"]) == "mailto:lahtija@example.test"
    assert withdrawal.subject.startswith(
        "Kokous poistettu kalenteristasi / Mötet borttaget från din kalender:"
    )
    assert "Sinua ei enää kutsuta tähän kokoukseen." in withdrawal.body
    assert "Du kallas inte längre till detta möte." in withdrawal.body
    for text in (withdrawal.subject, withdrawal.body, (withdrawal.calendar or "").replace("\r\n ", "")):
        assert PUBLIC_TITLE not in text
        assert "Virkasuhteen" not in text
        assert "§" not in text
    [entry] = await audit_entries(context, "meeting.updated")
    assert json.loads(entry.data)["recipients"] == 4
    assert json.loads(entry.data)["withdrawn"] == 1
    row = (await recorded(context, town))["lahtija@example.test"]
    assert (row.first_sequence, row.last_sequence, row.withdrawn_at) == (1, 2, context.db.clock())

    await change(context, town, place="Valtuustosali")
    await cancel(context, town, "Siirtyy.")

    assert len(await outbox(context, "meeting.call_withdrawn")) == 1
    mailed = [
        m.recipient
        for kind in ("meeting.call_updated", "meeting.cancelled")
        for m in await outbox(context, kind)
    ]
    assert "lahtija@example.test" not in mailed
    assert len(await outbox(context, "meeting.cancelled")) == 4
    [cancelled] = await audit_entries(context, "meeting.cancelled")
    assert (json.loads(cancelled.data)["recipients"], json.loads(cancelled.data)["withdrawn"]) == (4, 1)


async def test_newcomer_gets_the_invitation_at_the_current_sequence(context: AppContext, town: Town) -> None:
    """A member whose term starts after the old date but by the new one was never invited: the updated
    call is their first invitation, and later messages about the event reach them too."""
    await member_for(context, town, "tulija", date(2026, 12, 14), date(2029, 5, 31))
    await send_call(context, town)
    assert "tulija@example.test" not in {m.recipient for m in await outbox(context, "meeting.call")}

    await change(context, town, starts_at=NEXT_WEEK)

    [first] = [
        m for m in await outbox(context, "meeting.call_updated") if m.recipient == "tulija@example.test"
    ]
    calendar, event = event_of(first)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert event.decoded("SEQUENCE") == 2
    assert event.decoded("DTSTART") == datetime(2026, 12, 17, 14, 0, tzinfo=UTC)
    [entry] = await audit_entries(context, "meeting.updated")
    assert json.loads(entry.data)["recipients"] == 5
    assert await outbox(context, "meeting.call_withdrawn") == []

    await change(context, town, place="Valtuustosali")

    later = [m for m in await outbox(context, "meeting.call_updated") if m.recipient == "tulija@example.test"]
    assert [event_of(m)[1].decoded("SEQUENCE") for m in later] == [2, 3]
    row = (await recorded(context, town))["tulija@example.test"]
    assert (row.first_sequence, row.last_sequence, row.withdrawn_at) == (2, 3, None)


async def test_sequence_is_read_back_from_the_database(context: AppContext, town: Town) -> None:
    """The meeting's row is locked and read afresh before its SEQUENCE is raised: an increment committed
    by another transaction meanwhile is not written over (PostgreSQL; SQLite serialises writers)."""
    await send_call(context, town)
    async with context.db.write() as session:
        meeting = await session.get(Meeting, town.meeting_id)
        assert meeting is not None
        assert meeting.calendar_sequence == 1
        moved = update(Meeting).where(Meeting.id == town.meeting_id).values(calendar_sequence=7)
        await session.execute(moved.execution_options(synchronize_session=False))
        spec = MeetingSpec(starts_at=LATER, place=meeting.place, mode=meeting.mode)
        await do_update_meeting(
            session, meeting=meeting, spec=spec, base_url=BASE_URL, sender=SENDER, actor=town.actor
        )

    assert {event_of(m)[1].decoded("SEQUENCE") for m in await outbox(context, "meeting.call_updated")} == {8}
    assert (await meeting_row(context, town)).calendar_sequence == 8
    [updated] = await audit_entries(context, "meeting.updated")
    assert json.loads(updated.data)["changed"] == ["starts_at"]


async def test_agenda_changes_read_the_version_afresh(context: AppContext, town: Town) -> None:
    """Item and attachment changes lock the meeting's row and read it afresh too, so two of them at once
    never write the same agenda version (which keys the cached pages: decision 0005)."""
    await send_call(context, town)
    async with context.db.write() as session:
        meeting = await session.get(Meeting, town.meeting_id)
        assert meeting is not None
        before = meeting.agenda_version
        [item] = [i for i in await meeting_items(session, meeting) if i.position == 1]
        bumped = update(Meeting).where(Meeting.id == town.meeting_id).values(agenda_version=before + 5)
        await session.execute(bumped.execution_options(synchronize_session=False))
        spec = ItemSpec(**{k: getattr(item, k) for k in ITEM_FIELDS} | {"title": "Uusi otsikko"})
        await do_update_item(
            session, item=item, meeting=meeting, spec=spec, reason="Otsikko tarkentui.", actor=town.actor
        )

    assert (await meeting_row(context, town)).agenda_version == before + 6
    [updated] = await audit_entries(context, "item.updated")
    assert updated.subject == f"item:{item.id}"


async def _set_email(context: AppContext, username: str, email: str | None) -> None:
    async with context.db.write() as session:
        user = await user_by_username(session, username)
        assert user is not None
        user.email = email


async def test_an_updated_call_never_goes_to_an_address_removed_from_the_account(
    context: AppContext, town: Town
) -> None:
    """The updated call lists the items (R-PUB-7): it goes only to the address an account has now. The
    mailbox the call went to still holds the event, so it gets a cancellation that names no item."""
    await send_call(context, town)
    await _set_email(context, "jasen", None)

    await change(context, town, starts_at=LATER)

    assert "jasen@example.test" not in {m.recipient for m in await outbox(context, "meeting.call_updated")}
    [withdrawn] = await outbox(context, "meeting.call_withdrawn")
    assert withdrawn.recipient == "jasen@example.test"
    assert PUBLIC_TITLE not in withdrawn.body
    assert str(event_of(withdrawn)[0]["METHOD"]) == "CANCEL"
    [updated] = await audit_entries(context, "meeting.updated")
    assert json.loads(updated.data)["withdrawn"] == 1


async def test_a_new_address_gets_the_update_and_the_old_mailbox_loses_the_event(
    context: AppContext, town: Town
) -> None:
    await send_call(context, town)
    await _set_email(context, "jasen", "jasen.uusi@example.test")

    await change(context, town, starts_at=LATER)

    updated_to = {m.recipient for m in await outbox(context, "meeting.call_updated")}
    assert "jasen.uusi@example.test" in updated_to
    assert "jasen@example.test" not in updated_to
    assert [m.recipient for m in await outbox(context, "meeting.call_withdrawn")] == ["jasen@example.test"]
    assert (await recorded(context, town))["jasen.uusi@example.test"].last_sequence == 2
    await change(context, town, starts_at=NEXT_WEEK)  # the old mailbox is not told again
    assert len(await outbox(context, "meeting.call_withdrawn")) == 1


async def test_a_shared_mailbox_that_is_still_called_keeps_the_event(context: AppContext, town: Town) -> None:
    """A mailbox passed from one person to the next: the one who left is not told separately, because the
    same mailbox gets the update, and a cancellation after it would remove the event for the newcomer."""
    await send_call(context, town)
    async with context.db.write() as session:
        leaving = await user_by_username(session, "jasen")
        assert leaving is not None
        shared = leaving.email
        await do_set_active(session, user=leaving, active=False, actor="system:test")
    newcomer = await member_for(context, town, "jasen2", date(2026, 1, 1), date(2029, 5, 31))
    async with context.db.write() as session:
        user = await user_by_username(session, "jasen2")
        assert user is not None
        user.email = shared
    assert newcomer.id != leaving.id

    await change(context, town, starts_at=LATER)

    assert [m.recipient for m in await outbox(context, "meeting.call_updated")].count(shared) == 1
    assert await outbox(context, "meeting.call_withdrawn") == []
