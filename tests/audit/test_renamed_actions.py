"""Renamed audit actions: entries written under an old name still verify and are found by the new one, and
the documents name every action (issue: one name per step; docs/audit.md "Renamed actions")."""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

from audit.actions import record, write_checkpoint
from audit.models import CURRENT_NAME, FORMER_NAMES, AuditAction, names_of
from audit.queries import AuditFilter, list_entries
from audit.verify import verify_database
from core.clock import FixedClock
from web.context import AppContext

ROOT = Path(__file__).resolve().parents[2]


async def test_an_old_entry_still_verifies_and_is_found_by_its_new_name(
    context: AppContext, clock: FixedClock
) -> None:
    async with context.db.write() as session:
        # As a version before the rename wrote it: the stored name is what the hashes cover.
        await record(session, cast(AuditAction, "meeting.call_sent"), actor="user:1", subject="meeting:1")
        clock.advance(seconds=1)
        await record(session, AuditAction.CALL_SENT, actor="user:1", subject="meeting:2")
        await write_checkpoint(session, reason="test", signer=context.signer)
    async with context.db.read() as session:
        report = await verify_database(session, context.signer.verifier)
        assert report.intact, report.summary()
        by_new = await list_entries(session, AuditFilter(action="call.sent"))
        by_subject = await list_entries(session, AuditFilter(action="call"))
    assert [entry.subject for entry in by_new.entries] == ["meeting:2", "meeting:1"]
    assert [entry.action for entry in by_new.entries] == ["call.sent", "meeting.call_sent"]
    assert {entry.subject for entry in by_subject.entries} == {"meeting:1", "meeting:2"}


def test_each_old_name_leads_to_one_current_action() -> None:
    assert names_of("totp.enrolled") == ("totp.enrolment_confirmed", "totp.enrolled")
    assert names_of("session.started") == ("session.started", "login.succeeded")
    assert names_of("login.failed") == ("login.failed",)
    assert names_of("no.such") == ("no.such",)
    for old, new in CURRENT_NAME.items():
        assert old not in set(AuditAction), f"{old} is both a former and a current name"
        assert old in FORMER_NAMES[new]


def test_the_audit_document_names_every_action_and_every_rename() -> None:
    document = (ROOT / "docs" / "audit.md").read_text()
    for action in AuditAction:
        assert f"`{action}`" in document, f"docs/audit.md does not list {action}"
    for old, new in CURRENT_NAME.items():
        assert f"| `{old}` | `{new}` |" in document, f"docs/audit.md does not record {old} → {new}"


def test_the_action_pages_name_actions_that_exist() -> None:
    index = (ROOT / "docs" / "actions" / "README.md").read_text()
    rows = [line.split("|") for line in index.splitlines() if line.startswith("| [")]
    assert rows
    for row in rows:
        for name in re.findall(r"`([a-z_]+\.[a-z_]+)`", row[3]):
            assert name in set(AuditAction), f"docs/actions/README.md names {name}, which is not an action"
