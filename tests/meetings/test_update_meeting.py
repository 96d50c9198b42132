"""meeting.update: after the call a new time, place or mode goes to everyone called with an updated
invitation (same UID, higher SEQUENCE); publicity alone, or any change before the call, sends nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from meetings.rules import LOCAL
from tests.factories import audit_entries
from tests.meetings.called_meeting import (
    SECRET_TITLE,
    Town,
    change,
    event_of,
    make_town,
    meeting_row,
    outbox,
    send_call,
)
from web.context import AppContext

LATER = datetime(2026, 12, 10, 17, 30, tzinfo=LOCAL)


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
    assert json.loads(entry.data) == {"changed": ["starts_at"], "agenda_version": 2, "recipients": 4}
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
    assert json.loads(entry.data) == {"changed": ["is_public"], "agenda_version": 2, "recipients": 0}
    assert (await meeting_row(context, town)).calendar_sequence == 1


async def test_change_before_the_call_sends_no_mail(context: AppContext, town: Town) -> None:
    await change(context, town, starts_at=LATER)

    assert await outbox(context, "meeting.call_updated") == []
    [entry] = await audit_entries(context, "meeting.updated")
    assert json.loads(entry.data) == {"changed": ["starts_at"], "agenda_version": 0, "recipients": 0}
    assert (await meeting_row(context, town)).calendar_sequence == 0


async def test_same_details_again_change_and_send_nothing(context: AppContext, town: Town) -> None:
    await send_call(context, town)

    await change(context, town)

    assert await outbox(context, "meeting.call_updated") == []
    assert await audit_entries(context, "meeting.updated") == []
