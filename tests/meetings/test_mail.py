"""The call e-mail and its invitation: bilingual, local time; confidential items only mentioned (R-PUB-7)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar, Event

from meetings.mail import (
    CallNotice,
    ItemLine,
    Recipient,
    call_messages,
    cancel_messages,
    icalendar,
    update_messages,
    withdrawal_messages,
)
from meetings.models import MeetingMode
from tests.conftest import START

SECRET_TITLE = "Virkasuhteen päättäminen, Matti Meikäläinen"
SENDER = "Kokous <kokous@kunta.test>"
AINO = Recipient("Aino Ässä", "aino@example.test")
BERTIL = Recipient("Bertil Öberg", "bertil@example.test")
FOLD_OCTETS = 75  # RFC 5545 3.1: a physical line's length, without its CRLF


def notice(**changes: Any) -> CallNotice:
    base = CallNotice(
        meeting_id=12,
        body_name="Kunnanhallitus",
        body_name_sv="Kommunstyrelsen",
        number=3,
        year=2026,
        starts_at=datetime(2026, 12, 4, 14, 0, tzinfo=UTC),  # 16.00 in Helsinki (EET)
        ends_at=None,
        place="Kunnantalo, valtuustosali",
        mode=MeetingMode.IN_PERSON,
        url="https://kokous.test/meetings/12",
        sequence=4,
        organizer="kokous@kunta.test",
        sent_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
        items=(
            ItemLine(12, "Talousarvio 2027", is_confidential=False),
            ItemLine(13, SECRET_TITLE, is_confidential=True),
            ItemLine(14, "Kaavoituskatsaus", is_confidential=False),
        ),
    )
    return replace(base, **changes)


def event_of(text: str) -> Event:
    events = Calendar.from_ical(text).walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, Event)
    return event


def unfold(text: str) -> str:
    return text.replace("\r\n ", "")


def test_one_mail_per_recipient_with_their_own_invitation() -> None:
    mails = call_messages(notice(), [AINO, BERTIL], sender=SENDER)

    assert [m.recipient for m in mails] == [AINO, BERTIL]
    assert (
        mails[0].subject
        == "Kokouskutsu / Möteskallelse: Kunnanhallitus / Kommunstyrelsen 3/2026, 4.12.2026 klo 16.00"
    )
    assert "mailto:aino@example.test" in unfold(mails[0].calendar)
    assert "bertil@example.test" not in mails[0].calendar


def test_text_lists_public_titles_and_only_mentions_confidential_items() -> None:
    """R-MODE-2, R-PUB-7: e-mail is not a protected channel."""
    mail = call_messages(notice(), [AINO], sender=SENDER)[0]

    assert "§ 12 Talousarvio 2027" in mail.body
    assert "§ 14 Kaavoituskatsaus" in mail.body
    assert "§ 13 Salassa pidettävä asia" in mail.body
    assert "§ 13 Sekretessbelagt ärende" in mail.body
    for text in (mail.body, mail.subject, unfold(mail.calendar)):
        assert "Virkasuhteen" not in text
        assert "Meikäläinen" not in text


def test_text_is_finnish_first_then_swedish() -> None:
    body = call_messages(notice(), [AINO], sender=SENDER)[0].body

    assert body.index("KOKOUSKUTSU") < body.index("MÖTESKALLELSE")
    assert body.index("Paikka: Kunnantalo, valtuustosali") < body.index("Plats: Kunnantalo, valtuustosali")
    assert "Kommunstyrelsen 3/2026" in body


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "fi", "sv"),
    [
        # EET in winter (UTC+2)
        (
            datetime(2026, 12, 4, 14, 0, tzinfo=UTC),
            None,
            "perjantai 4.12.2026 klo 16.00",
            "fredag 4.12.2026 kl. 16.00",
        ),
        # EEST in summer (UTC+3), with a planned end
        (
            datetime(2026, 6, 8, 15, 30, tzinfo=UTC),
            datetime(2026, 6, 8, 18, 0, tzinfo=UTC),
            "maanantai 8.6.2026 klo 18.30–21.00",
            "måndag 8.6.2026 kl. 18.30–21.00",
        ),
        # late evening UTC is the next local day
        (
            datetime(2026, 3, 2, 22, 30, tzinfo=UTC),
            None,
            "tiistai 3.3.2026 klo 00.30",
            "tisdag 3.3.2026 kl. 00.30",
        ),
    ],
)
def test_times_are_local_finnish_times(
    starts_at: datetime, ends_at: datetime | None, fi: str, sv: str
) -> None:
    body = call_messages(notice(starts_at=starts_at, ends_at=ends_at), [AINO], sender=SENDER)[0].body

    assert f"Aika: {fi}" in body
    assert f"Tid: {sv}" in body


@pytest.mark.parametrize(
    ("mode", "fi", "sv"),
    [
        (MeetingMode.ELECTRONIC, "Kokous pidetään sähköisesti.", "Mötet hålls elektroniskt."),
        (MeetingMode.HYBRID, "paikan päällä tai sähköisesti", "på plats eller elektroniskt"),
    ],
)
def test_an_electronic_meeting_is_joined_through_the_link(mode: MeetingMode, fi: str, sv: str) -> None:
    body = call_messages(notice(mode=mode), [AINO], sender=SENDER)[0].body

    assert fi in body
    assert sv in body
    assert body.count("https://kokous.test/meetings/12") == 2


def test_decision_procedure_items_state_their_deadline() -> None:
    """R-CALL-6: the call states the mode and deadline of an item in the electronic decision procedure."""
    deadline = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    items = (ItemLine(12, "Talousarvio 2027", is_confidential=False, deadline_at=deadline),)
    body = call_messages(notice(items=items), [AINO], sender=SENDER)[0].body

    assert "Sähköinen päätöksentekomenettely, määräaika 3.12.2026 klo 12.00" in body
    assert "Elektroniskt beslutsförfarande, tidsfrist 3.12.2026 kl. 12.00" in body


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        notice(starts_at=datetime(2026, 12, 4, 16, 0))  # noqa: DTZ001  (the point of the test)


# The golden invitation: the exact text of one notice's three calendar parts. A calendar program matches the
# event on UID and SEQUENCE and shows the rest, so any change to these bytes must be one meant to be made.
GOLDEN_NOTICE = CallNotice(
    meeting_id=12,
    body_name="Kunnanhallitus",
    body_name_sv="Kommunstyrelsen",
    number=3,
    year=2026,
    starts_at=START + timedelta(days=6, hours=5),
    ends_at=START + timedelta(days=6, hours=8),
    place="Kunnantalo, valtuustosali",
    mode=MeetingMode.HYBRID,
    url="https://kokous.test/meetings/12",
    sequence=4,
    organizer="kokous@kunta.test",
    sent_at=START,
    items=(ItemLine(12, "Talousarvio 2027", is_confidential=False),),
)
GOLDEN_RECIPIENT = Recipient("Öberg, Bertil", "bertil@example.test")
GOLDEN_REQUEST = (
    "BEGIN:VCALENDAR",
    "PRODID:-//Kokous//Kokous meeting call//FI",
    "VERSION:2.0",
    "CALSCALE:GREGORIAN",
    "METHOD:REQUEST",
    "BEGIN:VEVENT",
    "UID:meeting-12@kokous.test",
    "DTSTAMP:20261128T090000Z",
    "DTSTART:20261204T140000Z",
    "DTEND:20261204T170000Z",
    "SEQUENCE:4",
    "STATUS:CONFIRMED",
    "TRANSP:OPAQUE",
    "SUMMARY:Kunnanhallitus / Kommunstyrelsen 3/2026",
    r"LOCATION:Kunnantalo\, valtuustosali",
    "DESCRIPTION:Kokoukseen voi osallistua paikan päällä tai sähköisesti. ",
    r" Liity kokoukseen ja lue esityslista linkistä:\nhttps://kokous.test/meetin",
    r" gs/12\n\nDet går att delta på plats eller elektroniskt. Anslut till möt",
    r" et och läs föredragningslistan via länken:\nhttps://kokous.test/meeting",
    " s/12",
    "URL:https://kokous.test/meetings/12",
    "ORGANIZER;CN=Kunnanhallitus:mailto:kokous@kunta.test",
    'ATTENDEE;CN="Öberg, Bertil";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RS',
    " VP=FALSE:mailto:bertil@example.test",
    "END:VEVENT",
    "END:VCALENDAR",
)
GOLDEN_CANCEL = (
    "BEGIN:VCALENDAR",
    "PRODID:-//Kokous//Kokous meeting call//FI",
    "VERSION:2.0",
    "CALSCALE:GREGORIAN",
    "METHOD:CANCEL",
    "BEGIN:VEVENT",
    "UID:meeting-12@kokous.test",
    "DTSTAMP:20261128T090000Z",
    "DTSTART:20261204T140000Z",
    "DTEND:20261204T170000Z",
    "SEQUENCE:4",
    "STATUS:CANCELLED",
    "TRANSP:TRANSPARENT",
    "SUMMARY:Kunnanhallitus / Kommunstyrelsen 3/2026",
    r"LOCATION:Kunnantalo\, valtuustosali",
    r"DESCRIPTION:Kokous on peruttu.\nMötet har inställts.\n\nPäätösvaltais",
    r" uus ei täyty\; siirretään.",
    "URL:https://kokous.test/meetings/12",
    "ORGANIZER;CN=Kunnanhallitus:mailto:kokous@kunta.test",
    'ATTENDEE;CN="Öberg, Bertil";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RS',
    " VP=FALSE:mailto:bertil@example.test",
    "END:VEVENT",
    "END:VCALENDAR",
)
GOLDEN_WITHDRAWN = (
    "BEGIN:VCALENDAR",
    "PRODID:-//Kokous//Kokous meeting call//FI",
    "VERSION:2.0",
    "CALSCALE:GREGORIAN",
    "METHOD:CANCEL",
    "BEGIN:VEVENT",
    "UID:meeting-12@kokous.test",
    "DTSTAMP:20261128T090000Z",
    "DTSTART:20261204T140000Z",
    "DTEND:20261204T170000Z",
    "SEQUENCE:4",
    "TRANSP:TRANSPARENT",
    "SUMMARY:Kunnanhallitus / Kommunstyrelsen 3/2026",
    r"DESCRIPTION:Sinua ei enää kutsuta tähän kokoukseen.\nDu kallas inte l",
    " ängre till detta möte.",
    "ORGANIZER;CN=Kunnanhallitus:mailto:kokous@kunta.test",
    'ATTENDEE;CN="Öberg, Bertil";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RS',
    " VP=FALSE:mailto:bertil@example.test",
    "END:VEVENT",
    "END:VCALENDAR",
)


def golden_calendars() -> dict[str, str]:
    recipients = [GOLDEN_RECIPIENT]
    reason = "Päätösvaltaisuus ei täyty; siirretään."
    return {
        "request": call_messages(GOLDEN_NOTICE, recipients, sender=SENDER)[0].calendar,
        "cancel": cancel_messages(GOLDEN_NOTICE, recipients, sender=SENDER, reason=reason)[0].calendar,
        "withdrawn": withdrawal_messages(GOLDEN_NOTICE, recipients, sender=SENDER)[0].calendar,
    }


@pytest.mark.parametrize(
    ("kind", "lines"),
    [("request", GOLDEN_REQUEST), ("cancel", GOLDEN_CANCEL), ("withdrawn", GOLDEN_WITHDRAWN)],
)
def test_invitation_is_exactly_the_golden_text(kind: str, lines: tuple[str, ...]) -> None:
    """RFC 5545 with CRLF after every line, folded lines included; sent as UTF-8 (RFC 6047 2.4)."""
    calendar = golden_calendars()[kind]

    assert calendar.encode() == "".join(f"{line}\r\n" for line in lines).encode()


def test_invitation_carries_the_meetings_facts() -> None:
    text = icalendar(notice(), AINO)
    calendar = Calendar.from_ical(text)
    event = event_of(text)

    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(calendar["VERSION"]) == "2.0"
    assert "Kokous" in str(calendar["PRODID"])
    assert str(event["UID"]) == "meeting-12@kokous.test"
    assert event.decoded("DTSTART") == datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)  # three hours by default
    assert event.decoded("DTSTAMP") == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert event.decoded("SEQUENCE") == 4
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == "Kunnanhallitus / Kommunstyrelsen 3/2026"
    assert str(event["LOCATION"]) == "Kunnantalo, valtuustosali"
    assert "https://kokous.test/meetings/12" in str(event["DESCRIPTION"])
    assert str(event["URL"]) == "https://kokous.test/meetings/12"
    assert str(event["ORGANIZER"]) == "mailto:kokous@kunta.test"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:aino@example.test"
    assert attendee.params["RSVP"] == "FALSE"
    assert attendee.params["CN"] == "Aino Ässä"


def test_invitation_keeps_its_uid_and_takes_a_planned_end() -> None:
    ends_at = datetime(2026, 12, 4, 16, 30, tzinfo=UTC)
    first = event_of(icalendar(notice(), AINO))
    changed = event_of(icalendar(notice(ends_at=ends_at, sequence=5), AINO))

    assert changed["UID"] == first["UID"]
    assert changed.decoded("DTEND") == ends_at
    assert changed.decoded("SEQUENCE") == 5


def test_invitation_has_crlf_line_ends_only() -> None:
    text = icalendar(notice(), AINO)

    assert text.startswith("BEGIN:VCALENDAR\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert "\r" not in text.replace("\r\n", "")


LONG_PLACE = (
    "Kunnantalon yläkerran iso kokoushuone, jossa äänestetään 🗳️ ja pöytäkirja tarkastetaan; "
    "Kommunhusets övre våning, stora mötesrummet, där röstas 🗳️ och protokollet justeras. " * 3
)


def physical_lines(text: str) -> list[bytes]:
    """The lines as sent (UTF-8), without their CRLF."""
    return text.encode().split(b"\r\n")[:-1]


def test_folding_keeps_lines_short_and_unfolds_to_the_original() -> None:
    body_name = "Ympäristö- ja rakennuslautakunta 🌲" * 4
    text = icalendar(notice(place=LONG_PLACE, body_name=body_name), AINO)
    lines = physical_lines(text)

    assert max(len(line) for line in lines) <= FOLD_OCTETS
    assert any(line.startswith(b" ") for line in lines)
    assert str(event_of(text)["LOCATION"]) == LONG_PLACE
    assert event_of(text)["ORGANIZER"].params["CN"] == body_name


@pytest.mark.parametrize("prefix", range(62, 72))
@pytest.mark.parametrize("char", ["a", "ä", "€", "🗳", "🗳️"])
def test_fold_never_splits_a_character(prefix: int, char: str) -> None:
    """Every width of UTF-8 sequence lands at every position around the first fold ("LOCATION:" and the
    prefix fill 71 to 80 octets), and at many positions of the continuation lines after it."""
    place = "X" * prefix + char * 30
    text = icalendar(notice(place=place), AINO)
    lines = physical_lines(text)

    assert all(len(line) <= FOLD_OCTETS for line in lines)
    for line in lines:
        line.decode()  # each physical line is valid UTF-8 on its own
    assert f"\r\nLOCATION:{place}\r\n" in unfold(text)


@pytest.mark.parametrize(
    ("place", "escaped", "parsed"),
    [
        ("a,b", r"a\,b", "a,b"),
        ("a;b", r"a\;b", "a;b"),
        ("a\\b", r"a\\b", "a\\b"),
        ("rivi 1\nrivi 2", r"rivi 1\nrivi 2", "rivi 1\nrivi 2"),
        ("rivi 1\r\nrivi 2", r"rivi 1\nrivi 2", "rivi 1\nrivi 2"),
        ("rivi 1\rrivi 2", r"rivi 1\nrivi 2", "rivi 1\nrivi 2"),
        ("C:\\kokous; 1,2\\n", r"C:\\kokous\; 1\,2\\n", "C:\\kokous; 1,2\\n"),
        ("sali\t2", "sali\t2", "sali\t2"),
        ("kello\x07\x00\x1b\x7f\x85", "kello", "kello"),
    ],
)
def test_text_is_escaped_and_loses_control_characters(place: str, escaped: str, parsed: str) -> None:
    """RFC 5545 3.3.11: backslash, semicolon, comma and line breaks escaped; controls but tab dropped."""
    text = icalendar(notice(place=place), AINO)

    assert f"\r\nLOCATION:{escaped}\r\n" in unfold(text)
    assert str(event_of(text)["LOCATION"]) == parsed


EVENT_PROPERTIES = [
    "UID",
    "DTSTAMP",
    "DTSTART",
    "DTEND",
    "SEQUENCE",
    "STATUS",
    "TRANSP",
    "SUMMARY",
    "LOCATION",
    "DESCRIPTION",
    "URL",
    "ORGANIZER",
    "ATTENDEE",
]
HOSTILE_NAMES = [
    ('Öberg, Bertil "Berra"; jäsen', 'Öberg, Bertil "Berra"; jäsen'),
    ("Aino;ROLE=CHAIR", "Aino;ROLE=CHAIR"),
    ('Aino";ROLE=CHAIR;X="', 'Aino";ROLE=CHAIR;X="'),
    ("Aino:mailto:mallory@example.test", "Aino:mailto:mallory@example.test"),
    ("Aino\r\nATTENDEE:mailto:mallory@example.test", "AinoATTENDEE:mailto:mallory@example.test"),
    ("Aino\n;ROLE=CHAIR", "Aino;ROLE=CHAIR"),
    ("Aino\rX-EVIL:1\x07\x00\x85", "AinoX-EVIL:1"),
    ("Aino ^n ^' ^^", "Aino ^n ^' ^^"),
]
HOSTILE_PLACES = [
    (
        "Sali\r\nATTENDEE;ROLE=CHAIR:mailto:mallory@example.test",
        "Sali\nATTENDEE;ROLE=CHAIR:mailto:mallory@example.test",
    ),
    ("Sali\rURL:https://mallory.example.test\x0b\x0c", "Sali\nURL:https://mallory.example.test"),
    ('Sali";ROLE=CHAIR:\\n\\;\\,', 'Sali";ROLE=CHAIR:\\n\\;\\,'),
    ("Sali\nEND:VEVENT\nBEGIN:VEVENT", "Sali\nEND:VEVENT\nBEGIN:VEVENT"),
]


@pytest.mark.parametrize(("name", "cn"), HOSTILE_NAMES)
@pytest.mark.parametrize(("place", "location"), HOSTILE_PLACES)
def test_hostile_names_and_places_inject_nothing(name: str, cn: str, place: str, location: str) -> None:
    """A name or place may hold anything: it round-trips (less control characters) and adds no property,
    parameter or line. The CN's double quote travels as ^' (RFC 6868), which the parser turns back."""
    text = icalendar(notice(place=place, body_name=name), Recipient(name, "bertil@example.test"))
    event = event_of(text)
    content_lines = unfold(text).split("\r\n")[6:-3]  # the event's own lines

    assert [re.split("[;:]", line, maxsplit=1)[0] for line in content_lines] == EVENT_PROPERTIES
    assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]", text.replace("\r\n", ""))
    assert str(event["LOCATION"]) == location
    assert str(event["ATTENDEE"]) == "mailto:bertil@example.test"
    assert dict(event["ATTENDEE"].params) == {
        "CN": cn,
        "ROLE": "REQ-PARTICIPANT",
        "PARTSTAT": "NEEDS-ACTION",
        "RSVP": "FALSE",
    }
    assert dict(event["ORGANIZER"].params) == {"CN": cn}


def test_a_double_quote_in_a_name_is_sent_as_rfc_6868_says() -> None:
    """A parameter value cannot hold DQUOTE (RFC 5545 3.2): RFC 6868 writes it as ^', and ^ as ^^."""
    text = icalendar(notice(), Recipient('Öberg, Bertil "Berra" ^', "bertil@example.test"))

    assert "\r\nATTENDEE;CN=\"Öberg, Bertil ^'Berra^' ^^\";ROLE=" in unfold(text)


def test_subject_is_cut_to_the_outbox_column() -> None:
    mail = call_messages(notice(body_name="Lautakunta" * 40), [AINO], sender=SENDER)[0]

    assert len(mail.subject) == 300
    assert mail.subject.endswith("…")


def test_in_person_meeting_has_no_join_wording() -> None:
    body = call_messages(notice(), [AINO], sender=SENDER)[0].body

    assert "sähköisesti" not in body
    assert "Esityslista: https://kokous.test/meetings/12" in body


def test_cancellation_names_no_item_and_gives_the_reason_in_both_languages() -> None:
    """R-PUB-7: a cancellation lists no items at all, so not even a confidential one's mention."""
    mail = cancel_messages(notice(), [AINO], sender=SENDER, reason="Päätösvaltaisuus ei täyty.")[0]

    assert (
        mail.subject
        == "Kokous peruttu / Mötet inställt: Kunnanhallitus / Kommunstyrelsen 3/2026, 4.12.2026 klo 16.00"
    )
    assert mail.body.index("KOKOUS ON PERUTTU") < mail.body.index("MÖTET HAR INSTÄLLTS")
    assert "Aika: perjantai 4.12.2026 klo 16.00" in mail.body
    assert "Tid: fredag 4.12.2026 kl. 16.00" in mail.body
    assert "Syy: Päätösvaltaisuus ei täyty." in mail.body
    assert "Orsak: Päätösvaltaisuus ei täyty." in mail.body
    for text in (mail.body, unfold(mail.calendar)):
        assert "Talousarvio" not in text
        assert "Virkasuhteen" not in text
        assert "§" not in text


def test_cancellation_removes_the_event() -> None:
    """RFC 5546 3.2.5: METHOD:CANCEL with the event's UID, a higher SEQUENCE and STATUS:CANCELLED."""
    invitation = event_of(icalendar(notice(), AINO))
    mail = cancel_messages(notice(sequence=5), [AINO], sender=SENDER, reason="Siirtyy.")[0]
    calendar = Calendar.from_ical(mail.calendar)
    event = event_of(mail.calendar)

    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert event["UID"] == invitation["UID"]
    assert event.decoded("SEQUENCE") > invitation.decoded("SEQUENCE")
    assert str(event["ATTENDEE"]) == "mailto:aino@example.test"
    assert "Siirtyy." in str(event["DESCRIPTION"])


def test_updated_call_says_what_changed_and_invites_again() -> None:
    mail = update_messages(
        notice(sequence=5), [AINO], sender=SENDER, changed=("ends_at", "place", "starts_at")
    )[0]

    assert mail.subject.startswith("Muutettu kokouskutsu / Ändrad möteskallelse: Kunnanhallitus")
    assert mail.body.index("MUUTETTU KOKOUSKUTSU") < mail.body.index("ÄNDRAD MÖTESKALLELSE")
    assert "Kokouksen tiedot ovat muuttuneet (aika, paikka)." in mail.body
    assert "Mötets uppgifter har ändrats (tid, plats)." in mail.body
    assert "§ 13 Salassa pidettävä asia" in mail.body
    assert "Virkasuhteen" not in mail.body
    assert str(Calendar.from_ical(mail.calendar)["METHOD"]) == "REQUEST"
    assert event_of(mail.calendar).decoded("SEQUENCE") == 5


def test_withdrawal_takes_one_attendee_off_an_event_that_is_still_held() -> None:
    """RFC 5546 3.2.5: uninviting an attendee is a METHOD:CANCEL to them without STATUS:CANCELLED, which
    would cancel the whole event. It says why, in both languages, and names no item (R-PUB-7)."""
    mail = withdrawal_messages(notice(sequence=5), [AINO], sender=SENDER)[0]
    calendar = Calendar.from_ical(mail.calendar)
    event = event_of(mail.calendar)

    assert str(calendar["METHOD"]) == "CANCEL"
    assert "STATUS" not in event
    assert event["UID"] == event_of(icalendar(notice(), AINO))["UID"]
    assert event.decoded("SEQUENCE") == 5
    assert str(event["ATTENDEE"]) == "mailto:aino@example.test"
    assert "URL" not in event
    assert "LOCATION" not in event
    assert (
        mail.subject == "Kokous poistettu kalenteristasi / Mötet borttaget från din kalender: "
        "Kunnanhallitus / Kommunstyrelsen 3/2026"
    )
    assert mail.body.index("KOKOUS POISTETTU KALENTERISTASI") < mail.body.index("MÖTET BORTTAGET")
    assert "Sinua ei enää kutsuta tähän kokoukseen. Se on siksi poistettu kalenteristasi." in mail.body
    assert "Du kallas inte längre till detta möte. Det har därför tagits bort från din kalender." in mail.body
    for text in (mail.body, unfold(mail.calendar)):
        assert "Talousarvio" not in text
        assert "Virkasuhteen" not in text
        assert "§" not in text
