"""Delivering the outbox: a real SMTP server on loopback, the outbox folder, back-off, claims and audit."""

from __future__ import annotations

import json
import socket
import stat
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from icalendar import Calendar
from sqlalchemy import select

from audit.models import AuditAction
from core.clock import FixedClock
from core.config import Settings
from core.db import Database
from meetings.delivery import (
    RETRY_SCHEDULE,
    OutboxFolder,
    SmtpTransport,
    default_sender,
    deliver_pending,
    message_key,
    to_email,
    transport_for,
)
from meetings.models import OutboxMessage
from tests.factories import audit_entries
from web.context import AppContext

SENDER = "Kokous <kokous@kunta.test>"
CALENDAR = (
    "BEGIN:VCALENDAR\r\nPRODID:-//Kokous//test//FI\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\nUID:meeting-12@kokous.test\r\nDTSTAMP:20261128T090000Z\r\n"
    "DTSTART:20261204T140000Z\r\nSUMMARY:Kunnanhallitus 3/2026 – ääni\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


class Collector:
    """An aiosmtpd handler that keeps every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        parser = BytesParser(_class=EmailMessage, policy=default)
        return [parser.parsebytes(e.original_content or b"") for e in self.envelopes]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Collector, int]]:
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port(), ready_timeout=5)
    controller.start()
    try:
        yield collector, controller.port
    finally:
        controller.stop()


def smtp(port: int) -> SmtpTransport:
    return SmtpTransport.from_url(f"smtp://127.0.0.1:{port}", timeout=5)


async def add_message(
    context: AppContext,
    recipient: str = "aino@example.test",
    *,
    calendar: str | None = CALENDAR,
    **fields: Any,
) -> int:
    values: dict[str, Any] = {
        "kind": "meeting.call",
        "reference": "meeting:12",
        "recipient": recipient,
        "subject": "Kokouskutsu / Möteskallelse: Kunnanhallitus 3/2026, 4.12.2026 klo 16.00",
        "body": "KOKOUSKUTSU\n§ 12 Talousarvio 2027\n§ 13 Salassa pidettävä asia\n",
        "calendar": calendar,
        "created_at": context.db.clock(),
        "attempts": 0,
        "last_error": "",
    }
    async with context.db.write() as session:
        message = OutboxMessage(**(values | fields))
        session.add(message)
        await session.flush()
        return message.id


async def outbox_row(db: Database, message_id: int) -> OutboxMessage:
    async with db.read() as session:
        return (
            await session.execute(select(OutboxMessage).where(OutboxMessage.id == message_id))
        ).scalar_one()


async def test_deliver_pending_sends_each_message_once(
    context: AppContext, clock: FixedClock, smtp_server: tuple[Collector, int]
) -> None:
    collector, port = smtp_server
    first = await add_message(context, "aino@example.test")
    second = await add_message(context, "bertil@example.test")

    assert await deliver_pending(context.db, smtp(port), sender=SENDER) == 2
    assert await deliver_pending(context.db, smtp(port), sender=SENDER) == 0

    assert [e.rcpt_tos for e in collector.envelopes] == [["aino@example.test"], ["bertil@example.test"]]
    assert all(e.mail_from == "kokous@kunta.test" for e in collector.envelopes)
    for message_id in (first, second):
        row = await outbox_row(context.db, message_id)
        assert row.sent_at == clock()
        assert row.attempts == 1
        assert row.last_error == ""


async def test_the_received_mail_carries_text_and_a_calendar_request(
    context: AppContext, smtp_server: tuple[Collector, int]
) -> None:
    collector, port = smtp_server
    await add_message(context)

    await deliver_pending(context.db, smtp(port), sender=SENDER)

    [received] = collector.messages()
    assert received.get_content_type() == "multipart/alternative"
    assert str(received["Subject"]).startswith("Kokouskutsu / Möteskallelse: Kunnanhallitus 3/2026")
    assert received["Auto-Submitted"] == "auto-generated"
    text, invitation = received.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert "§ 13 Salassa pidettävä asia" in text.get_content()
    assert invitation.get_content_type() == "text/calendar"
    assert invitation.get_param("method") == "REQUEST"
    assert str(invitation.get_param("charset")).lower() == "utf-8"
    assert invitation.get_payload(decode=True) == CALENDAR.encode()  # CRLF and UTF-8 intact
    calendar = Calendar.from_ical(invitation.get_content())
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(calendar.walk("VEVENT")[0]["UID"]) == "meeting-12@kokous.test"


async def test_a_mail_without_an_invitation_is_plain_text(context: AppContext, clock: FixedClock) -> None:
    message = await outbox_row(context.db, await add_message(context, calendar=None))

    email = to_email(message, sender=SENDER)

    assert email.get_content_type() == "text/plain"
    assert email["Message-ID"] == f"<{message_key(message)}@kunta.test>"
    assert email["Date"] == "Sat, 28 Nov 2026 09:00:00 +0000"
    assert to_email(message, sender=SENDER)["Message-ID"] == email["Message-ID"]  # a retry keeps its id


async def test_a_failure_is_recorded_and_retried_only_after_the_back_off(
    context: AppContext, clock: FixedClock, smtp_server: tuple[Collector, int]
) -> None:
    collector, port = smtp_server
    message_id = await add_message(context)
    nobody_listens = smtp(free_port())

    assert await deliver_pending(context.db, nobody_listens, sender=SENDER) == 0
    row = await outbox_row(context.db, message_id)
    assert (row.sent_at, row.attempts) == (None, 1)
    assert row.last_error.startswith("ConnectionRefusedError")

    clock.advance(seconds=RETRY_SCHEDULE[1].total_seconds() - 1)
    assert await deliver_pending(context.db, smtp(port), sender=SENDER) == 0
    assert collector.envelopes == []

    clock.advance(seconds=1)
    assert await deliver_pending(context.db, smtp(port), sender=SENDER) == 1
    row = await outbox_row(context.db, message_id)
    assert (row.sent_at, row.attempts, row.last_error) == (clock(), 2, "")
    assert len(collector.envelopes) == 1


async def test_a_message_is_given_up_after_the_last_retry(context: AppContext, clock: FixedClock) -> None:
    old = clock() - RETRY_SCHEDULE[-1] - timedelta(hours=1)
    message_id = await add_message(context, created_at=old, attempts=3)
    nobody_listens = smtp(free_port())

    assert await deliver_pending(context.db, nobody_listens, sender=SENDER) == 0
    assert (await outbox_row(context.db, message_id)).attempts == len(RETRY_SCHEDULE)
    clock.advance(days=30)
    assert await deliver_pending(context.db, nobody_listens, sender=SENDER) == 0

    [failed] = await audit_entries(context, AuditAction.MAIL_FAILED)
    assert json.loads(failed.data)["final"] is True


class SecondWorker:
    """Sends by first running another delivery, as a second worker would while the first one is sending."""

    def __init__(self, db: Database, inner: OutboxFolder) -> None:
        self.db, self.inner, self.found_by_second = db, inner, -1

    async def send(self, email: EmailMessage) -> None:
        self.found_by_second = await deliver_pending(self.db, self.inner, sender=SENDER)
        await self.inner.send(email)


@pytest.mark.parametrize("age", [timedelta(0), timedelta(hours=3)])
async def test_a_claimed_message_is_not_sent_by_another_worker(
    context: AppContext, clock: FixedClock, tmp_path: Path, age: timedelta
) -> None:
    """Also for a message that waited long, whose earlier retry slots have all passed."""
    message_id = await add_message(context, created_at=clock() - age)
    worker = SecondWorker(context.db, OutboxFolder(tmp_path))

    assert await deliver_pending(context.db, worker, sender=SENDER, limit=1) == 1
    assert worker.found_by_second == 0
    assert (await outbox_row(context.db, message_id)).sent_at == clock()


async def test_the_outbox_folder_holds_parseable_owner_only_files(
    context: AppContext, clock: FixedClock, tmp_path: Path
) -> None:
    folder = tmp_path / "outbox"
    message_id = await add_message(context)

    assert await deliver_pending(context.db, OutboxFolder(folder), sender=SENDER) == 1

    [path] = folder.iterdir()
    assert path.name == f"20261128T090000000000Z-{message_id}.eml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    parsed = BytesParser(_class=EmailMessage, policy=default).parsebytes(path.read_bytes())
    assert parsed["To"] == "aino@example.test"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/calendar"]
    assert b"\r\n" in path.read_bytes()


async def test_the_audit_entries_name_the_message_but_no_address(
    context: AppContext, smtp_server: tuple[Collector, int]
) -> None:
    _collector, port = smtp_server
    delivered = await add_message(context, "aino@example.test")
    await deliver_pending(context.db, smtp(port), sender=SENDER)
    failed = await add_message(context, "bertil@example.test")
    await deliver_pending(context.db, smtp(free_port()), sender=SENDER)

    [ok] = await audit_entries(context, AuditAction.MAIL_DELIVERED)
    [bad] = await audit_entries(context, AuditAction.MAIL_FAILED)
    assert (ok.actor, ok.subject) == ("system:mail", f"outbox:{delivered}")
    assert json.loads(ok.data) == {"kind": "meeting.call", "reference": "meeting:12", "attempts": 1}
    assert (bad.actor, bad.subject) == ("system:mail", f"outbox:{failed}")
    assert json.loads(bad.data)["error"] == "ConnectionRefusedError"
    for entry in (ok, bad):
        assert "@" not in entry.data
        assert "Talousarvio" not in entry.data


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.kunta.test", ("mail.kunta.test", 25, "plain", None, None)),
        ("smtp://127.0.0.1:2525", ("127.0.0.1", 2525, "plain", None, None)),
        (
            "smtp+starttls://kokous%40kunta.test:p%40ss%3Aw0rd@mail.kunta.test",
            ("mail.kunta.test", 587, "starttls", "kokous@kunta.test", "p@ss:w0rd"),
        ),
        ("smtps://user:secret@mail.kunta.test:4650", ("mail.kunta.test", 4650, "tls", "user", "secret")),
    ],
)
def test_smtp_urls(url: str, expected: tuple[object, ...]) -> None:
    transport = SmtpTransport.from_url(url)

    assert (
        transport.host,
        transport.port,
        transport.security,
        transport.username,
        transport.password,
    ) == expected
    assert "secret" not in repr(transport)


@pytest.mark.parametrize(
    "url",
    ["http://mail.kunta.test", "smtp://", "smtp://user:secret@mail.kunta.test", "mail.kunta.test:25"],
)
def test_bad_smtp_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="smtp"):
        SmtpTransport.from_url(url)


def test_the_transport_follows_the_settings(settings: Settings) -> None:
    folder = transport_for(settings)
    assert isinstance(folder, OutboxFolder)
    assert folder.path == settings.data_dir / "outbox"

    relay = transport_for(Settings(data_dir=settings.data_dir, smtp_url="smtp+starttls://relay.kunta.test"))
    assert isinstance(relay, SmtpTransport)
    assert (relay.host, relay.port, relay.security) == ("relay.kunta.test", 587, "starttls")


@pytest.mark.parametrize(
    ("base_url", "sender"),
    [
        ("https://kokous.kunta.fi", "Kokous <kokous@kokous.kunta.fi>"),
        ("http://127.0.0.1:8000", "Kokous <kokous@localhost>"),
    ],
)
def test_default_sender(base_url: str, sender: str) -> None:
    assert default_sender(Settings(base_url=base_url)) == sender
