"""Agenda items: added, changed (versioned after the call), removed and reordered."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from auth.models import User
from auth.queries import user_id_of
from core.bounds import LONG_TEXT, check_choice, check_length, check_lengths, length_of, valid_id
from core.db import session_clock
from core.errors import ValidationFailed
from core.text import translatable
from meetings import lifecycle
from meetings.lawfulness import still_lawful
from meetings.lifecycle import Operation
from meetings.locks import lock_meeting
from meetings.models import (
    AgendaItem,
    AgendaItemVersion,
    DecisionMode,
    Meeting,
    MeetingStatus,
    Publicity,
)
from meetings.queries import meeting_items


@dataclass(frozen=True, slots=True)
class ItemSpec:
    title: str
    presenter_id: int | None = None
    preparer: str = ""
    preparer_contact: str = ""
    description: str = ""
    proposal: str = ""
    publicity: str = Publicity.PUBLIC
    confidentiality_basis: str = ""
    public_summary: str = ""
    decision_mode: str = DecisionMode.MEETING
    deadline_at: datetime | None = None


ITEM_FIELDS = tuple(f.name for f in dataclasses.fields(ItemSpec))


ITEM_TEXT = {
    "title": length_of(AgendaItem.title),
    "preparer": length_of(AgendaItem.preparer),
    "preparer_contact": length_of(AgendaItem.preparer_contact),
    "description": LONG_TEXT,
    "proposal": LONG_TEXT,
    "confidentiality_basis": length_of(AgendaItem.confidentiality_basis),
    "public_summary": LONG_TEXT,
}


CHANGE_REASON = length_of(AgendaItemVersion.reason)


async def _check_item(session: AsyncSession, spec: ItemSpec) -> None:
    if not spec.title.strip():
        raise ValidationFailed("An item needs a title.", field="title")
    check_lengths(spec, ITEM_TEXT)
    publicity = check_choice(Publicity, spec.publicity, "publicity")
    mode = check_choice(DecisionMode, spec.decision_mode, "decision_mode")
    if publicity != Publicity.PUBLIC and not spec.confidentiality_basis.strip():
        raise ValidationFailed(
            "Give the legal basis of the confidentiality, e.g. JulkL 24 § 1 mom 25 k (R-MIN-3).",
            field="confidentiality_basis",
        )
    if mode == DecisionMode.DECISION_PROCEDURE and spec.deadline_at is None:
        raise ValidationFailed(
            "An item in the electronic decision procedure needs a deadline (R-CALL-6).", field="deadline_at"
        )
    if spec.deadline_at is not None and spec.deadline_at.tzinfo is None:
        raise ValidationFailed("The deadline needs a time zone.", field="deadline_at")
    if spec.presenter_id is not None and (
        not valid_id(spec.presenter_id) or await session.get(User, spec.presenter_id) is None
    ):
        raise ValidationFailed("No such presenter.", field="presenter_id")


async def do_add_item(session: AsyncSession, *, meeting: Meeting, spec: ItemSpec, actor: str) -> AgendaItem:
    """Append an item to a draft agenda, numbered after the last one. Audit: item.added."""
    await lock_meeting(session, meeting)
    lifecycle.require(
        meeting.status,
        Operation.ARRANGE_AGENDA,
        translatable("Items can be added only until the call is sent."),
    )
    await _check_item(session, spec)
    items = await meeting_items(session, meeting)
    position = len(items) + 1
    item = AgendaItem(
        meeting_id=meeting.id,
        position=position,
        section=meeting.first_section + position - 1,
        version=1,
        updated_at=session_clock(session)(),
        **dataclasses.asdict(spec),
    )
    session.add(item)
    await session.flush()
    await record(
        session,
        AuditAction.ITEM_ADDED,
        actor=actor,
        subject=f"item:{item.id}",
        data={
            "meeting": f"meeting:{meeting.id}",
            "section": item.section,
            "publicity": item.publicity,
            "decision_mode": item.decision_mode,
        },
    )
    return item


def _snapshot(item: AgendaItem) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k in ITEM_FIELDS
        if (v := getattr(item, k)) or True
    }


async def do_update_item(
    session: AsyncSession, *, item: AgendaItem, meeting: Meeting, spec: ItemSpec, reason: str = "", actor: str
) -> AgendaItem:
    """Edit an item. After the call the previous text is kept as a version and the reason is required.

    Audit: item.updated (changed fields and the new version). Idempotent when nothing changes.
    """
    await lock_meeting(session, meeting, item)
    lifecycle.require(
        meeting.status, Operation.EDIT, translatable("A cancelled meeting's agenda cannot be changed.")
    )
    await _check_item(session, spec)
    check_length(reason, CHANGE_REASON, field="reason")
    new = dataclasses.asdict(spec)
    changed = sorted(k for k in ITEM_FIELDS if getattr(item, k) != new[k])
    if not changed:
        return item
    now = session_clock(session)()
    if meeting.status == MeetingStatus.CALLED:
        if not reason.strip():
            raise ValidationFailed("Say why the item changes after the call was sent.", field="reason")
        session.add(
            AgendaItemVersion(
                item_id=item.id,
                version=item.version,
                snapshot=_snapshot(item),
                changed_at=now,
                changed_by=user_id_of(actor),
                reason=reason,
            )
        )
        item.version += 1
        meeting.agenda_version += 1
        meeting.updated_at = now
    for key in changed:
        setattr(item, key, new[key])
    item.updated_at = now
    if meeting.status == MeetingStatus.CALLED:
        await session.flush()
        await still_lawful(session, meeting)
    await record(
        session,
        AuditAction.ITEM_UPDATED,
        actor=actor,
        subject=f"item:{item.id}",
        data={"changed": changed, "version": item.version, "reason": reason},
    )
    return item


async def do_remove_item(session: AsyncSession, *, item: AgendaItem, meeting: Meeting, actor: str) -> None:
    """Remove an item from a draft agenda and renumber the rest. Audit: item.removed."""
    await lock_meeting(session, meeting, item)
    lifecycle.require(
        meeting.status,
        Operation.ARRANGE_AGENDA,
        translatable("Items can be removed only until the call is sent."),
    )
    await session.delete(item)
    await session.flush()
    await renumber(session, meeting, [i.id for i in await meeting_items(session, meeting)])
    await record(
        session,
        AuditAction.ITEM_REMOVED,
        actor=actor,
        subject=f"item:{item.id}",
        data={"meeting": f"meeting:{meeting.id}", "section": item.section},
    )


async def renumber(session: AsyncSession, meeting: Meeting, order: list[int]) -> None:
    items = {i.id: i for i in await meeting_items(session, meeting)}
    for position, item_id in enumerate(order, start=1):
        items[item_id].position = position
        items[item_id].section = meeting.first_section + position - 1


async def do_reorder_items(session: AsyncSession, *, meeting: Meeting, order: list[int], actor: str) -> None:
    """Put the draft agenda in a new order and renumber the §§. Audit: items.reordered."""
    await lock_meeting(session, meeting)
    lifecycle.require(
        meeting.status,
        Operation.ARRANGE_AGENDA,
        translatable("The agenda can be reordered only until the call is sent."),
    )
    current = [i.id for i in await meeting_items(session, meeting)]
    if sorted(order) != sorted(current):
        raise ValidationFailed(
            "The new order must list every item of the agenda exactly once.", field="order"
        )
    if order == current:
        return
    await renumber(session, meeting, order)
    await record(
        session,
        AuditAction.ITEMS_REORDERED,
        actor=actor,
        subject=f"meeting:{meeting.id}",
        data={"order": order},
    )
