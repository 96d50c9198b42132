"""Delivering the outbox after commit (to an SMTP server, or into a folder of .eml files by default), and
purging what is done with."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import smtplib
import ssl
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import unquote, urlsplit

from sqlalchemy import ColumnElement, CursorResult, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from core.clock import rfc3339
from core.config import Settings
from core.db import Database, session_clock, signal
from meetings.mail import Mail
from meetings.models import OutboxMessage

ACTOR = "system:mail"
MAIL_QUEUED = "mail.queued"  # the signal that wakes the delivery job after a commit
SMTP_TIMEOUT = 30.0  # seconds, per socket operation
# When try n may start, counted from the message's creation; after the last one the message is given up.
RETRY_SCHEDULE = tuple(
    timedelta(minutes=m) for m in (0, 10, 30, 60, 2 * 60, 4 * 60, 8 * 60, 16 * 60, 24 * 60, 36 * 60, 48 * 60)
)
# How long a claimed message stays out of other workers' reach: longer than one SMTP conversation.
CLAIM_LEASE = timedelta(minutes=5)
ERROR_MAX = 500  # OutboxMessage.last_error
SAFE_NAME = re.compile(r"[A-Za-z0-9._-]{1,120}")


def queue_mail(session: AsyncSession, *, kind: str, reference: str, mails: list[Mail]) -> int:
    """One outbox row per e-mail, in the caller's transaction; the delivery job wakes once it commits
    (mail.deliver_pending). Returns how many were queued."""
    now = session_clock(session)()
    session.add_all(
        OutboxMessage(
            kind=kind,
            reference=reference,
            recipient=m.recipient.email,
            subject=m.subject,
            body=m.body,
            calendar=m.calendar,
            created_at=now,
            attempts=0,
        )
        for m in mails
    )
    if mails:
        signal(session, MAIL_QUEUED)
    return len(mails)


class Transport(Protocol):
    async def send(self, email: EmailMessage) -> None: ...


def calendar_method(calendar: str) -> str:
    """The iTIP method of an iCalendar text (RFC 5546), which the MIME part must repeat (RFC 6047 2.4)."""
    found = re.search(r"^METHOD:([A-Z-]+)\r?$", calendar, re.MULTILINE)
    return found.group(1) if found else "PUBLISH"


def to_email(message: OutboxMessage, *, sender: str) -> EmailMessage:
    """The MIME message: text/plain, with the invitation as a text/calendar alternative when there is one.

    The Message-ID is derived from the outbox row, so a retry after a lost reply carries the same id.
    """
    email = EmailMessage(policy=SMTP)  # CRLF line ends inside the encoded parts too
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = f"<{message_key(message)}@{_domain(sender)}>"
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    email.set_content(message.body, cte="quoted-printable")
    if message.calendar:
        email.add_alternative(
            message.calendar,
            subtype="calendar",
            params={"method": calendar_method(message.calendar)},
            cte="base64",
        )
    return email


def message_key(message: OutboxMessage) -> str:
    """`<utc-timestamp>-<outbox id>`: unique per database row, and the outbox folder's file name."""
    return f"{message.created_at:%Y%m%dT%H%M%S%fZ}-{message.id}"


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"


def default_sender(settings: Settings) -> str:
    """A From address on the service's own host name, for installations that configure none."""
    host = urlsplit(settings.base_url).hostname or "localhost"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return str(Address("Kokous", "kokous", host))
    return str(Address("Kokous", "kokous", "localhost"))


class OutboxFolder:
    """Writes each message as `<key>.eml` (owner-only, written whole or not at all); a retry overwrites."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, email: EmailMessage) -> None:
        await asyncio.to_thread(self._write, email)

    def _write(self, email: EmailMessage) -> None:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self.path / f"{_file_stem(email)}.eml"
        fd, temporary = tempfile.mkstemp(dir=self.path, prefix=".", suffix=".tmp")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(email.as_bytes())
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _file_stem(email: EmailMessage) -> str:
    local = str(email.get("Message-ID", "")).strip("<> ").partition("@")[0]
    if SAFE_NAME.fullmatch(local):
        return local
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class SmtpTransport:
    """smtplib in a worker thread: the standard library only, and no blocking of the event loop."""

    host: str
    port: int
    security: str  # "plain", "starttls" or "tls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = SMTP_TIMEOUT

    @classmethod
    def from_url(cls, url: str, *, timeout: float = SMTP_TIMEOUT) -> SmtpTransport:
        """smtp://host[:25], smtp+starttls://host[:587] or smtps://host[:465]; user:password@ is optional."""
        parts = urlsplit(url)
        schemes = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError(
                "KOKOUS_SMTP_URL must look like smtp://host, smtp+starttls://host or smtps://host"
            )
        security, default_port = schemes[parts.scheme]
        username = unquote(parts.username) if parts.username else None
        if username and security == "plain":
            raise ValueError("SMTP credentials need smtps:// or smtp+starttls://, never a plain connection")
        password = unquote(parts.password) if parts.password else None
        return cls(parts.hostname, parts.port or default_port, security, username, password, timeout)

    async def send(self, email: EmailMessage) -> None:
        await asyncio.to_thread(self._send, email)

    def _send(self, email: EmailMessage) -> None:
        context = ssl.create_default_context()
        client = (
            smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            if self.security == "tls"
            else smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        )
        with client:
            if self.security == "starttls":
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(email)


def transport_for(settings: Settings) -> Transport:
    if settings.smtp_url:
        return SmtpTransport.from_url(settings.smtp_url)
    return OutboxFolder(settings.data_dir / "outbox")


async def deliver_pending(db: Database, transport: Transport, *, sender: str, limit: int = 50) -> int:
    """Send the due outbox messages in id order; returns how many went.

    Each message takes two short transactions: one claims it, one records the outcome; the sending
    happens between them, outside any transaction, so a slow server never holds SQLite's write lock.

    At least once: a message whose outcome could not be recorded is sent again after its lease.
    Audit: `mail.delivered` or `mail.failed` per message.
    """
    delivered = 0
    for _ in range(limit):
        claimed = await _claim_next(db)
        if claimed is None:
            break
        try:
            await transport.send(to_email(claimed, sender=sender))
        except Exception as error:  # one bad message or server reply must not stop the rest of the queue
            await _record_failure(db, claimed, error)
        else:
            await _record_delivery(db, claimed)
            delivered += 1
    return delivered


def _due(now: datetime) -> list[ColumnElement[bool]]:
    # Try n is due once RETRY_SCHEDULE[n] has passed since creation (an OR of bound values: any backend).
    return [
        OutboxMessage.sent_at.is_(None),
        or_(
            *(
                and_(OutboxMessage.attempts == n, OutboxMessage.created_at <= now - after)
                for n, after in enumerate(RETRY_SCHEDULE)
            )
        ),
    ]


def next_attempt(created_at: datetime, attempts: int, now: datetime) -> int:
    """The attempts value that claims a message: the next slot that starts after the lease ends.

    Slots missed while the job was not running are skipped, so that no other worker can claim the
    message while this one is still talking to the server.
    """
    slot = attempts + 1
    while slot < len(RETRY_SCHEDULE) and created_at + RETRY_SCHEDULE[slot] <= now + CLAIM_LEASE:
        slot += 1
    return slot


async def _claim_next(db: Database) -> OutboxMessage | None:
    async with db.write() as session:
        now = db.clock()
        query = select(OutboxMessage).where(*_due(now)).order_by(OutboxMessage.id).limit(1)
        # SKIP LOCKED lets PostgreSQL workers pass each other; SQLite holds its write lock (BEGIN IMMEDIATE).
        message = (await session.execute(query.with_for_update(skip_locked=True))).scalar_one_or_none()
        if message is not None:
            message.attempts = next_attempt(message.created_at, message.attempts, now)
            message.last_attempt_at = now
        return message


async def _record_delivery(db: Database, message: OutboxMessage) -> None:
    async with db.write() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id)
            .values(sent_at=db.clock(), last_error="")
        )
        await record(
            session, AuditAction.MAIL_DELIVERED, actor=ACTOR, subject=_subject(message), data=_data(message)
        )


async def _record_failure(db: Database, message: OutboxMessage, error: Exception) -> None:
    text = f"{type(error).__name__}: {error}"[:ERROR_MAX]
    final = message.attempts >= len(RETRY_SCHEDULE)
    async with db.write() as session:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message.id).values(last_error=text)
        )
        # The error class only: a server's reply may quote the recipient's address.
        data = {**_data(message), "error": type(error).__name__, "final": final}
        await record(session, AuditAction.MAIL_FAILED, actor=ACTOR, subject=_subject(message), data=data)


def _subject(message: OutboxMessage) -> str:
    return f"outbox:{message.id}"


def _data(message: OutboxMessage) -> dict[str, object]:
    return {"kind": message.kind, "reference": message.reference, "attempts": message.attempts}


def outbox_cutoff(settings: Settings, now: datetime) -> datetime:
    """What is older than this may be purged: KOKOUS_OUTBOX_DAYS before now."""
    return now - timedelta(days=settings.outbox_days)


async def do_purge_outbox(session: AsyncSession, *, older_than: datetime, actor: str) -> int:
    """Delete the messages delivered before `older_than`, and those given up whose last try began before it;
    the rows hold addresses and mail text. A message still to be tried is never deleted. Returns how many.

    Audit: mail.purged (how many and the cut-off, never an address), only when something was deleted.
    Idempotent: a second purge with the same cut-off deletes and records nothing.
    """
    given_up = and_(
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.attempts >= len(RETRY_SCHEDULE),
        OutboxMessage.last_attempt_at < older_than,
    )
    statement = delete(OutboxMessage).where(or_(OutboxMessage.sent_at < older_than, given_up))
    result = await session.execute(statement.execution_options(synchronize_session=False))
    purged = cast("CursorResult[Any]", result).rowcount
    if purged:
        data = {"count": purged, "older_than": rfc3339(older_than)}
        await record(session, AuditAction.MAIL_PURGED, actor=actor, subject="outbox", data=data)
    return purged
