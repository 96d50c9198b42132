"""Migration 0006 recovers, for the meetings called before it, who was sent the invitation: from the call and
update e-mails still in the outbox, matched to the accounts by address."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine
from tests.conftest import backend
from web import migration

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture
async def empty(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database of the backend under test, of its own (migrations commit)."""
    if backend() == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}")
        yield engine
        await engine.dispose()
        return
    admin_url = make_url(os.environ["KOKOUS_TEST_DATABASE_URL"])
    name = f"kokous_migration_{secrets.token_hex(4)}"
    admin = create_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(admin_url.set(database=name).render_as_string(hide_password=False))
    yield engine
    await engine.dispose()
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    await admin.dispose()


async def _seed(engine: AsyncEngine) -> None:
    """Two accounts; a called meeting (SEQUENCE 2) and a cancelled one; their e-mails in the outbox."""
    async with engine.begin() as conn:
        for username in ("aino", "bertil"):
            await conn.execute(
                text(
                    "INSERT INTO user_account (username, display_name, email, password_hash, is_active,"
                    " created_at, password_changed_at, failed_logins)"
                    " VALUES (:u, :u, :email, 'x', :active, :now, :now, 0)"
                ),
                {"u": username, "email": f"{username}@example.test", "active": True, "now": NOW},
            )
        await conn.execute(
            text(
                "INSERT INTO body (slug, name, name_sv, kind, seats, electronic_meetings_allowed,"
                " decision_procedure_allowed, meetings_public_by_default, active, created_at)"
                " VALUES ('kh', 'Kunnanhallitus', '', 'executive', 9, :no, :no, :no, :yes, :now)"
            ),
            {"no": False, "yes": True, "now": NOW},
        )
        for number, status, sequence in ((1, "called", 2), (2, "cancelled", 2)):
            await conn.execute(
                text(
                    "INSERT INTO meeting (id, body_id, number, year, starts_at, place, mode, is_public,"
                    " status, first_section, agenda_version, call_sent_at, calendar_sequence, created_at,"
                    " updated_at)"
                    " VALUES (:n, 1, :n, 2026, :now, 'Kunnantalo', 'in_person', :no, :status, 1, 1, :now,"
                    " :sequence, :now, :now)"
                ),
                {"n": number, "no": False, "status": status, "sequence": sequence, "now": NOW},
            )
        for kind, reference, recipient in (
            ("meeting.call", "meeting:1", "aino@example.test"),
            ("meeting.call", "meeting:1", "entinen@example.test"),  # no such account any more
            ("meeting.call_updated", "meeting:1", "aino@example.test"),
            ("meeting.call_updated", "meeting:1", "bertil@example.test"),  # joined at the update
            ("meeting.call", "meeting:2", "aino@example.test"),  # cancelled: nothing more to send
        ):
            await conn.execute(
                text(
                    "INSERT INTO outbox_message (kind, reference, recipient, subject, body, created_at,"
                    " attempts, last_error) VALUES (:kind, :reference, :recipient, 's', 'b', :now, 0, '')"
                ),
                {"kind": kind, "reference": reference, "recipient": recipient, "now": NOW},
            )


async def test_recipients_of_called_meetings_are_recovered_from_the_outbox(empty: AsyncEngine) -> None:
    await migration.upgrade(empty, "0005")
    await _seed(empty)

    await migration.upgrade(empty)

    async with empty.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT meeting_id, u.username, r.email, first_sequence, last_sequence, withdrawn_at"
                " FROM invitation_recipient r JOIN user_account u ON u.id = r.user_id ORDER BY u.username"
            )
        )
        assert [tuple(row) for row in rows] == [
            (1, "aino", "aino@example.test", 1, 2, None),
            (1, "bertil", "bertil@example.test", 2, 2, None),
        ]
