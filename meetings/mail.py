"""The meeting call e-mail, its update and cancellation, and their iCalendar parts: frozen facts in, text out.

E-mail is not a protected channel (R-MODE-2, R-PUB-7): a confidential item is only mentioned, never named.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from enum import StrEnum
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from meetings.models import MeetingMode

LOCAL = ZoneInfo("Europe/Helsinki")
DEFAULT_DURATION = timedelta(hours=3)
SUBJECT_MAX = 300  # OutboxMessage.subject
PRODID = "-//Kokous//Kokous meeting call//FI"

WEEKDAYS_FI = ("maanantai", "tiistai", "keskiviikko", "torstai", "perjantai", "lauantai", "sunnuntai")
WEEKDAYS_SV = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
CONFIDENTIAL_FI = "Salassa pidettävä asia"
CONFIDENTIAL_SV = "Sekretessbelagt ärende"
WITHDRAWN_FI = "Sinua ei enää kutsuta tähän kokoukseen."
WITHDRAWN_SV = "Du kallas inte längre till detta möte."
# What an updated call names as changed, in the order the reader thinks of it.
CHANGES_FI = {"starts_at": "aika", "ends_at": "aika", "place": "paikka", "mode": "kokoustapa"}
CHANGES_SV = {"starts_at": "tid", "ends_at": "tid", "place": "plats", "mode": "mötesform"}


class CalendarMethod(StrEnum):
    """RFC 5546 methods: an invitation (new or updated) and its cancellation."""

    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


@dataclass(frozen=True, slots=True)
class ItemLine:
    section: int
    title: str
    is_confidential: bool
    # Set for an item in the electronic decision procedure: the call states its deadline (R-CALL-6).
    deadline_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CallNotice:
    meeting_id: int
    body_name: str
    body_name_sv: str
    number: int
    year: int
    starts_at: datetime
    ends_at: datetime | None
    place: str
    mode: MeetingMode
    url: str
    sequence: int  # a calendar replaces or removes the event only when this grows (RFC 5545 3.8.7.4)
    organizer: str  # an e-mail address
    sent_at: datetime  # the invitation's DTSTAMP
    items: tuple[ItemLine, ...]

    def __post_init__(self) -> None:
        moments = [self.starts_at, self.ends_at, self.sent_at, *(i.deadline_at for i in self.items)]
        if any(m is not None and m.utcoffset() is None for m in moments):
            raise ValueError("a call notice needs timezone-aware datetimes")

    @property
    def title(self) -> str:
        """The body in both languages and the meeting's number: "Kunnanhallitus / Kommunstyrelsen 3/2026"."""
        names = [self.body_name]
        if self.body_name_sv and self.body_name_sv != self.body_name:
            names.append(self.body_name_sv)
        return f"{' / '.join(names)} {self.number}/{self.year}"

    @property
    def end(self) -> datetime:
        return self.ends_at or self.starts_at + DEFAULT_DURATION


@dataclass(frozen=True, slots=True)
class Recipient:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Mail:
    recipient: Recipient
    subject: str
    body: str
    calendar: str


def call_messages(notice: CallNotice, recipients: list[Recipient], *, sender: str) -> list[Mail]:
    """One call per recipient; only the invitation's ATTENDEE differs. `sender` is the From address."""
    subject = call_subject(notice)
    body = call_text(notice, sender=sender)
    return [Mail(r, subject, body, icalendar(notice, r)) for r in recipients]


def update_messages(
    notice: CallNotice, recipients: list[Recipient], *, sender: str, changed: tuple[str, ...]
) -> list[Mail]:
    """The call again after its time, place or mode changed: the invitation replaces the earlier one."""
    subject = _subject("Muutettu kokouskutsu / Ändrad möteskallelse", notice)
    body = call_text(notice, sender=sender, changed=changed)
    return [Mail(r, subject, body, icalendar(notice, r)) for r in recipients]


def cancel_messages(
    notice: CallNotice, recipients: list[Recipient], *, sender: str, reason: str
) -> list[Mail]:
    """The meeting will not be held: a METHOD:CANCEL part removes the event from calendars. Lists no items."""
    subject = _subject("Kokous peruttu / Mötet inställt", notice)
    body = cancel_text(notice, sender=sender, reason=reason)
    return [Mail(r, subject, body, icalendar(notice, r, CalendarMethod.CANCEL, reason)) for r in recipients]


def withdrawal_messages(notice: CallNotice, recipients: list[Recipient], *, sender: str) -> list[Mail]:
    """To those no longer called after a change: a METHOD:CANCEL part takes the event out of their
    calendar. The meeting itself is still held, so it says neither that nor when; it lists no items."""
    subject = _subject(
        "Kokous poistettu kalenteristasi / Mötet borttaget från din kalender", notice, when=False
    )
    body = withdrawal_text(notice, sender=sender)
    return [
        Mail(r, subject, body, icalendar(notice, r, CalendarMethod.CANCEL, withdrawn=True))
        for r in recipients
    ]


def call_subject(notice: CallNotice) -> str:
    return _subject("Kokouskutsu / Möteskallelse", notice)


def _subject(lead: str, notice: CallNotice, *, when: bool = True) -> str:
    subject = f"{lead}: {notice.title}, {local_fi(notice.starts_at)}" if when else f"{lead}: {notice.title}"
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 1] + "…"


def local_fi(moment: datetime) -> str:
    local = moment.astimezone(LOCAL)
    return f"{local.day}.{local.month}.{local.year} klo {local:%H.%M}"


def local_sv(moment: datetime) -> str:
    local = moment.astimezone(LOCAL)
    return f"{local.day}.{local.month}.{local.year} kl. {local:%H.%M}"


def call_text(notice: CallNotice, *, sender: str, changed: tuple[str, ...] = ()) -> str:
    """Finnish first, then Swedish (the municipal practice for bilingual notices).

    `changed` names the fields of meeting.update that changed since the call: the text then says so.
    """
    return _bilingual(_finnish(notice, changed), _swedish(notice, changed), sender)


def cancel_text(notice: CallNotice, *, sender: str, reason: str) -> str:
    """The meeting's time and place, that it will not be held, and why; no items (e-mail is not protected)."""
    fi = ["KOKOUS ON PERUTTU", f"{notice.body_name} {notice.number}/{notice.year}", "", *_when_fi(notice)]
    fi += ["", "Kokousta ei pidetä."]
    name = notice.body_name_sv or notice.body_name
    sv = ["MÖTET HAR INSTÄLLTS", f"{name} {notice.number}/{notice.year}", "", *_when_sv(notice)]
    sv += ["", "Mötet hålls inte."]
    if reason:
        fi.append(f"Syy: {reason}")
        sv.append(f"Orsak: {reason}")
    fi += ["", f"Kokouksen sivu: {notice.url}"]
    sv += ["", f"Mötets sida: {notice.url}"]
    return _bilingual(fi, sv, sender)


def withdrawal_text(notice: CallNotice, *, sender: str) -> str:
    """Why the event leaves the reader's calendar: they are no longer called. No items, no time."""
    fi = ["KOKOUS POISTETTU KALENTERISTASI", f"{notice.body_name} {notice.number}/{notice.year}", ""]
    fi.append(WITHDRAWN_FI + " Se on siksi poistettu kalenteristasi.")
    name = notice.body_name_sv or notice.body_name
    sv = ["MÖTET BORTTAGET FRÅN DIN KALENDER", f"{name} {notice.number}/{notice.year}", ""]
    sv.append(WITHDRAWN_SV + " Det har därför tagits bort från din kalender.")
    return _bilingual(fi, sv, sender)


def _bilingual(finnish: list[str], swedish: list[str], sender: str) -> str:
    rule = "-" * 60
    return "\n".join([*finnish, "", rule, "", *swedish, "", rule, _footer(sender), ""])


def _changes(names: dict[str, str], changed: tuple[str, ...]) -> str:
    return ", ".join(
        dict.fromkeys(names[c] for c in ("starts_at", "ends_at", "place", "mode") if c in changed)
    )


def _when_fi(notice: CallNotice) -> list[str]:
    start = notice.starts_at.astimezone(LOCAL)
    lines = [f"Aika: {WEEKDAYS_FI[start.weekday()]} {local_fi(start)}{_until(notice)}"]
    return [*lines, f"Paikka: {notice.place}"] if notice.place else lines


def _when_sv(notice: CallNotice) -> list[str]:
    start = notice.starts_at.astimezone(LOCAL)
    lines = [f"Tid: {WEEKDAYS_SV[start.weekday()]} {local_sv(start)}{_until(notice)}"]
    return [*lines, f"Plats: {notice.place}"] if notice.place else lines


def _finnish(notice: CallNotice, changed: tuple[str, ...]) -> list[str]:
    heading = "MUUTETTU KOKOUSKUTSU" if changed else "KOKOUSKUTSU"
    lines = [heading, f"{notice.body_name} {notice.number}/{notice.year}", ""]
    if changed:
        lines += [f"Kokouksen tiedot ovat muuttuneet ({_changes(CHANGES_FI, changed)}).", ""]
    lines += _when_fi(notice)
    lines += ["", _mode_fi(notice), "", "Käsiteltävät asiat (käsitellään kokouksessa, ellei toisin mainita):"]
    for item in notice.items:
        lines.append(f"§ {item.section} {CONFIDENTIAL_FI if item.is_confidential else item.title}")
        if item.deadline_at is not None:
            lines.append(f"    Sähköinen päätöksentekomenettely, määräaika {local_fi(item.deadline_at)}")
    if any(item.is_confidential for item in notice.items):
        lines += ["", "Salassa pidettävät asiat liitteineen ovat luettavissa vain kokousjärjestelmässä."]
    return lines


def _swedish(notice: CallNotice, changed: tuple[str, ...]) -> list[str]:
    name = notice.body_name_sv or notice.body_name
    heading = "ÄNDRAD MÖTESKALLELSE" if changed else "MÖTESKALLELSE"
    lines = [heading, f"{name} {notice.number}/{notice.year}", ""]
    if changed:
        lines += [f"Mötets uppgifter har ändrats ({_changes(CHANGES_SV, changed)}).", ""]
    lines += _when_sv(notice)
    lines += ["", _mode_sv(notice), "", "Ärenden (behandlas på mötet om inte annat anges):"]
    for item in notice.items:
        lines.append(f"§ {item.section} {CONFIDENTIAL_SV if item.is_confidential else item.title}")
        if item.deadline_at is not None:
            lines.append(f"    Elektroniskt beslutsförfarande, tidsfrist {local_sv(item.deadline_at)}")
    if any(item.is_confidential for item in notice.items):
        lines += ["", "Sekretessbelagda ärenden och deras bilagor kan läsas endast i mötessystemet."]
    return lines


def _until(notice: CallNotice) -> str:
    """The planned end when it is known and on the same local day: "–19.00"."""
    if notice.ends_at is None:
        return ""
    start, end = notice.starts_at.astimezone(LOCAL), notice.ends_at.astimezone(LOCAL)
    return f"–{end:%H.%M}" if end.date() == start.date() else ""


def _mode_fi(notice: CallNotice) -> str:
    if notice.mode == MeetingMode.ELECTRONIC:
        return f"Kokous pidetään sähköisesti. Liity kokoukseen ja lue esityslista linkistä:\n{notice.url}"
    if notice.mode == MeetingMode.HYBRID:
        return (
            "Kokoukseen voi osallistua paikan päällä tai sähköisesti. "
            f"Liity kokoukseen ja lue esityslista linkistä:\n{notice.url}"
        )
    return f"Esityslista: {notice.url}"


def _mode_sv(notice: CallNotice) -> str:
    if notice.mode == MeetingMode.ELECTRONIC:
        return (
            "Mötet hålls elektroniskt. "
            f"Anslut till mötet och läs föredragningslistan via länken:\n{notice.url}"
        )
    if notice.mode == MeetingMode.HYBRID:
        return (
            "Det går att delta på plats eller elektroniskt. "
            f"Anslut till mötet och läs föredragningslistan via länken:\n{notice.url}"
        )
    return f"Föredragningslista: {notice.url}"


def _footer(sender: str) -> str:
    address = parseaddr(sender)[1] or sender
    return (
        f"Tämä viesti on lähetetty automaattisesti osoitteesta {address}.\n"
        f"Detta meddelande har skickats automatiskt från adressen {address}."
    )


def icalendar(
    notice: CallNotice,
    recipient: Recipient,
    method: CalendarMethod = CalendarMethod.REQUEST,
    reason: str = "",
    *,
    withdrawn: bool = False,
) -> str:
    """An RFC 5545 invitation (REQUEST) or cancellation (CANCEL, RFC 5546 3.2.5) for one attendee.

    A `withdrawn` CANCEL removes only this attendee from an event that is still held, so it carries no
    STATUS (RFC 5546 3.2.5: STATUS:CANCELLED cancels the whole event).
    The UID is the meeting's, so each message acts on the same event. The icalendar package escapes the
    values, folds lines at 75 octets (never inside a UTF-8 sequence) and ends them with CRLF.
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method.value)
    event = Event()
    for name, value in _event_properties(notice, recipient, method, reason, withdrawn=withdrawn):
        event.add(name, value)
    calendar.add_component(event)
    # Unsorted: properties and parameters in the order given here (UID first), the order calendars always got.
    text: bytes = calendar.to_ical(sorted=False)
    return text.decode()


def _event_properties(
    notice: CallNotice, recipient: Recipient, method: CalendarMethod, reason: str, *, withdrawn: bool
) -> list[tuple[str, object]]:
    host = urlsplit(notice.url).hostname or "localhost"
    cancel = method == CalendarMethod.CANCEL
    if withdrawn:
        description, status = f"{WITHDRAWN_FI}\n{WITHDRAWN_SV}", []
    elif cancel:
        description, status = _cancel_description(reason), [("status", "CANCELLED")]
    else:
        description, status = _description(notice), [("status", "CONFIRMED")]
    # Kokous records attendance itself: the invitation asks for no reply.
    attendee = _address(
        recipient.email, recipient.name, ROLE="REQ-PARTICIPANT", PARTSTAT="NEEDS-ACTION", RSVP="FALSE"
    )
    return [
        ("uid", f"meeting-{notice.meeting_id}@{host}"),
        ("dtstamp", notice.sent_at.astimezone(UTC)),
        ("dtstart", notice.starts_at.astimezone(UTC)),
        ("dtend", notice.end.astimezone(UTC)),
        ("sequence", notice.sequence),
        *status,
        ("transp", "TRANSPARENT" if cancel else "OPAQUE"),
        ("summary", _text(notice.title)),
        # A withdrawn reader may no longer see the meeting: no place and no link, as in the e-mail's text.
        *([] if withdrawn else [("location", _text(notice.place or notice.url))]),
        ("description", _text(description)),
        *([] if withdrawn else [("url", notice.url)]),
        ("organizer", _address(notice.organizer, notice.body_name)),
        ("attendee", attendee),
    ]


def _description(notice: CallNotice) -> str:
    return f"{_mode_fi(notice)}\n\n{_mode_sv(notice)}"


def _cancel_description(reason: str) -> str:
    cancelled = "Kokous on peruttu.\nMötet har inställts."
    return f"{cancelled}\n\n{reason}" if reason else cancelled


def _text(value: str) -> vText:
    """TEXT (RFC 5545 3.3.11) keeps tabs and line breaks (the package escapes breaks), no other control."""
    return vText("".join(c for c in value if c in "\t\r\n" or unicodedata.category(c) != "Cc"))


def _address(email: str, name: str, **params: str) -> vCalAddress:
    """A mailto: address and its CN. A name is one line: every control character goes (RFC 5545 3.2 forbids
    them in a parameter); the package quotes the rest, and writes a double quote as ^' (RFC 6868)."""
    cn = "".join(c for c in name if unicodedata.category(c) != "Cc")
    return vCalAddress(f"mailto:{email}", params={"CN": cn, **params})
