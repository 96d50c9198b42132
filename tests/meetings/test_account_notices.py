"""E-mail telling a person that their password or second factor changed: its text, the outbox, real SMTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from auth.actions import do_create_user, do_reset_totp, do_set_password
from auth.models import User
from auth.notices import AccountNotice, NoticeKind
from meetings.delivery import deliver_pending
from meetings.models import OutboxMessage
from meetings.notices import NOT_YOU_FI, NOT_YOU_SV, SUBJECTS, notice_text
from tests.conftest import START
from tests.factories import audit_entries, enrol_totp, make_user
from tests.meetings.test_delivery import Collector, free_port, smtp
from web.context import AppContext

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def mail_server() -> Iterator[tuple[Collector, int]]:
    """A real SMTP server on loopback that keeps what it accepts."""
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port(), ready_timeout=5)
    controller.start()
    try:
        yield collector, controller.port
    finally:
        controller.stop()


def notice(kind: NoticeKind, address: str = "203.0.113.5") -> AccountNotice:
    return AccountNotice(kind, 7, "liisa", "Liisa Laine", "liisa@example.test", START, address)


async def outbox(context: AppContext) -> list[OutboxMessage]:
    async with context.db.read() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def make_mailable(context: AppContext, username: str = "liisa") -> int:
    async with context.db.write() as session:
        user = await do_create_user(
            session,
            username=username,
            display_name="Liisa Laine",
            password="correct horse battery",
            email=f"{username}@example.test",
            actor="system:test",
        )
    return user.id


def test_the_notice_says_what_when_from_where_and_what_to_do() -> None:
    text = notice_text(notice(NoticeKind.SECOND_FACTOR_REPLACED))
    # 09:00 UTC on 28 November is 11.00 in Helsinki (EET, UTC+2).
    assert (
        "Kokous-tilisi liisa todennussovellus vaihdettiin 28.11.2026 klo 11.00 (Suomen aikaa) osoitteesta "
        "203.0.113.5. Aiemmat varakoodit eivät enää toimi, ja tilin muut kirjautumiset päätettiin."
    ) in text
    assert (
        "Autentiseringsappen för ditt Kokous-konto liisa byttes 28.11.2026 kl. 11.00 (finsk tid) från "
        "adressen 203.0.113.5."
    ) in text
    assert text.index("Hei Liisa Laine,") < text.index(NOT_YOU_FI) < text.index("Hej Liisa Laine,")
    assert text.index("Hej Liisa Laine,") < text.index(NOT_YOU_SV)


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_kind_has_a_subject_and_both_languages(kind: NoticeKind) -> None:
    text = notice_text(notice(kind, address=""))
    assert " / " in SUBJECTS[kind]
    assert "liisa" in text
    assert "osoitteesta" not in text  # no address: the change did not come over the network
    assert "från adressen" not in text
    assert NOT_YOU_FI in text
    assert NOT_YOU_SV in text


async def test_an_administrators_new_password_is_mailed_and_audited(context: AppContext) -> None:
    user_id = await make_mailable(context)
    async with context.db.write() as session:
        user = await session.get_one(User, user_id)
        await do_set_password(session, user=user, password=NEW_PASSWORD, actor="cli:root")
    [mail] = await outbox(context)
    assert (mail.kind, mail.reference, mail.recipient) == (
        "account.password_set",
        f"user:{user_id}",
        "liisa@example.test",
    )
    assert mail.subject == SUBJECTS[NoticeKind.PASSWORD_SET]
    assert "Ylläpitäjä asetti Kokous-tilillesi liisa uuden salasanan" in mail.body
    assert NEW_PASSWORD not in mail.body
    entry = (await audit_entries(context, "password.changed"))[-1]
    assert (entry.actor, entry.data) == ("cli:root", '{"by":"administrator","notified":true}')
    assert context.mail_waiting.is_set()  # the delivery job is woken after the commit


async def test_without_an_address_no_mail_is_sent_and_the_log_says_so(context: AppContext) -> None:
    user = await make_user(context, "pekka")  # no e-mail address
    await enrol_totp(context, "pekka")
    async with context.db.write() as session:
        found = await session.get_one(User, user.id)
        await do_reset_totp(session, user=found, actor="cli:root")
    assert await outbox(context) == []
    entry = (await audit_entries(context, "totp.reset"))[-1]
    assert entry.data == '{"notified":false}'


async def test_a_notice_reaches_a_real_mail_server(
    context: AppContext, mail_server: tuple[Collector, int]
) -> None:
    collector, port = mail_server
    user_id = await make_mailable(context)
    async with context.db.write() as session:
        user = await session.get_one(User, user_id)
        await do_reset_totp(session, user=user, actor="user:1", address="198.51.100.7")
    sent = await deliver_pending(context.db, smtp(port), sender="Kokous <kokous@kunta.test>")
    assert sent == 1
    [message] = collector.messages()
    assert message["To"] == "liisa@example.test"
    assert message["Subject"] == SUBJECTS[NoticeKind.SECOND_FACTOR_RESET]
    body = message.get_content()
    assert "Ylläpitäjä poisti Kokous-tililtäsi liisa todennussovelluksen" in body
    assert "osoitteesta 198.51.100.7" in body
    assert "En administratör tog bort autentiseringsappen" in body
    delivered = (await audit_entries(context, "mail.delivered"))[-1]
    assert '"kind":"account.second_factor_reset"' in delivered.data
