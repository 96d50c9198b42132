"""The minutes' workflow: drafted, edited, checked, signed, published, and depersonalised when the period
ends (DESIGN.md §8, R-CHECK-1 … R-CHECK-3, R-PUB-1 … R-PUB-4).

Every step is a `do_*` action that checks who may take it and from which state (`TRANSITIONS`), changes the
state and writes its audit entry in the same transaction. Who may take a step is a person's part in this
meeting, not only a role in the body (`may`): the secretary who keeps the minutes edits, sends them to be
checked, countersigns and publishes; the checkers chosen in the meeting approve or reject (R-CHECK-1/2); the
chair who chaired signs. Nobody edits minutes once they are with the checkers, and nothing changes signed
minutes: a correction after signing would be a new decision of the body, not an edit.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record, write_checkpoint
from audit.models import AuditAction
from core.bounds import EXPLANATION, check_length
from core.clock import LOCAL
from core.db import session_clock, session_service
from core.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from core.text import translatable
from meetings.access import parent_row
from meetings.live.models import LiveMeeting
from meetings.models import Meeting, MeetingStatus
from minutes.ca import MunicipalCA
from minutes.document import MinutesDocument, SignerRole
from minutes.drafting import EDITABLE, TEXT_MAX, Wording, draft, planned_publication, uid
from minutes.jws import add_signature, sign_document, signed_file
from minutes.models import MinutesRecord, MinutesReview, MinutesSignature, MinutesState, MinutesVersion
from minutes.pades import PdfSigner, sign_pdf
from minutes.render import render_pdf
from minutes.rules.appeal import InstructionKind, appeal_dates
from minutes.rules.checking import review_step
from minutes.serialise import document_json

S = MinutesState


class Step(StrEnum):
    EDIT = "edit"
    SEND = "send"  # to the checkers
    APPROVE = "approve"
    APPROVE_LAST = "approve_last"  # the approval that completes the checking (R-CHECK-3)
    REJECT = "reject"  # R-CHECK-2
    SIGN = "sign"  # the chair (R-CHECK-1)
    COUNTERSIGN = "countersign"  # the secretary (varmennus)
    PUBLISH = "publish"  # R-PUB-1
    DEPERSONALISE = "depersonalise"  # R-PUB-4


TRANSITIONS: dict[tuple[MinutesState, Step], MinutesState] = {
    (S.DRAFT, Step.EDIT): S.DRAFT,
    (S.REJECTED, Step.EDIT): S.DRAFT,
    (S.DRAFT, Step.SEND): S.CHECKING,
    (S.REJECTED, Step.SEND): S.CHECKING,
    (S.CHECKING, Step.APPROVE): S.CHECKING,
    (S.CHECKING, Step.APPROVE_LAST): S.CHECKED,
    (S.CHECKING, Step.REJECT): S.REJECTED,
    (S.CHECKED, Step.SIGN): S.SIGNING,
    (S.SIGNING, Step.COUNTERSIGN): S.SIGNED,
    (S.SIGNED, Step.PUBLISH): S.PUBLISHED,
    (S.PUBLISHED, Step.DEPERSONALISE): S.PUBLISHED,
}

NOT_CLOSED = translatable("Minutes are drafted once the meeting has been closed.")
NOT_SECRETARY = translatable("Only the secretary who keeps these minutes does this.")
NOT_CHECKER = translatable("Only the minutes checkers chosen in the meeting check the minutes (R-CHECK-1).")
NOT_SIGNER = translatable("Only the chair signs, and the secretary countersigns, the minutes (R-CHECK-1).")
WRONG_STATE = translatable("This cannot be done to the minutes at their present stage.")
NO_CHECKERS = translatable("The meeting chose no minutes checkers: choose them before sending the minutes.")
CHAIR_FIRST = translatable("The chair signs first; the secretary countersigns after.")
RECORD_CHANGED = translatable(
    "The meeting's record has changed since this version was written: save a new version and have it checked."
)
VERSION_CHANGED = translatable("The minutes changed while they were being prepared for signing: sign again.")
NO_SUCH_SECTION = translatable("These minutes have no § {section}.")
TOO_LONG = translatable("A text may have at most {limit} characters.")
NOT_DUE = translatable("The period has not ended yet: personal data stays until {day}.")
DAYS_ONLY = translatable("Publication must be after the meeting.")

SYSTEM = "system:minutes"


def _move(current: str, step: Step) -> MinutesState:
    found = TRANSITIONS.get((MinutesState(current), step))
    if found is None:
        raise InvalidTransition(WRONG_STATE)
    return found


def _subject(minutes: MinutesRecord) -> str:
    return f"minutes:{minutes.id}"


async def _live(session: AsyncSession, minutes: MinutesRecord) -> LiveMeeting:
    return await parent_row(session, LiveMeeting, minutes.meeting_id)


def _is_secretary(minutes: MinutesRecord, user_id: int) -> None:
    if user_id != minutes.secretary_id:
        raise Forbidden(NOT_SECRETARY)


async def document_of(
    session: AsyncSession, minutes: MinutesRecord, wording: Wording, *, checked_on: date | None = None
) -> MinutesDocument:
    meeting = await parent_row(session, Meeting, minutes.meeting_id)
    return await draft(
        session,
        meeting,
        secretary_id=minutes.secretary_id,
        publish_at=minutes.publish_at,
        wording=wording,
        version=minutes.version,
        checked_on=checked_on,
    )


async def current_version(session: AsyncSession, minutes: MinutesRecord) -> MinutesVersion:
    query = select(MinutesVersion).where(
        MinutesVersion.minutes_id == minutes.id, MinutesVersion.number == minutes.version
    )
    return (await session.execute(query)).scalar_one()


async def do_open_draft(
    session: AsyncSession, *, meeting: Meeting, secretary_id: int, actor: str
) -> MinutesRecord:
    """The body's secretary opens the minutes of a closed meeting: version 1 is what Kokous wrote from the
    record (R-MIN-2); the secretary becomes the minutes' keeper. Audit: minutes.drafted. Idempotent: the
    minutes already opened are returned."""
    existing = (
        await session.execute(select(MinutesRecord).where(MinutesRecord.meeting_id == meeting.id))
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    if meeting.status != MeetingStatus.CLOSED:
        raise InvalidTransition(NOT_CLOSED)
    live = await parent_row(session, LiveMeeting, meeting.id)
    now = session_clock(session)()
    publish_at = planned_publication(meeting.starts_at.astimezone(LOCAL).date())
    minutes = MinutesRecord(
        meeting_id=meeting.id,
        state=MinutesState.DRAFT,
        version=1,
        secretary_id=secretary_id,
        chair_id=live.chaired_by,
        publish_at=publish_at,
        created_at=now,
        updated_at=now,
    )
    session.add(minutes)
    await session.flush()
    document = await document_of(session, minutes, Wording())
    session.add(
        MinutesVersion(
            minutes_id=minutes.id,
            number=1,
            wording=Wording().as_json(),
            content=document_json(document),
            note="",
            created_at=now,
            created_by=None,
        )
    )
    await record(
        session,
        AuditAction.MINUTES_DRAFTED,
        actor=actor,
        subject=_subject(minutes),
        data={"meeting": f"meeting:{meeting.id}", "items": len(document.items)},
    )
    return minutes


def check_wording(wording: Wording, sections: set[int]) -> None:
    for section, words in wording.items.items():
        if section not in sections:
            raise ValidationFailed(NO_SUCH_SECTION, field="items", section=section)
        for name in EDITABLE:
            if len(getattr(words, name)) > TEXT_MAX:
                raise ValidationFailed(TOO_LONG, field=name, limit=TEXT_MAX)
    for text in (wording.checking_note, wording.convening_statement):
        check_length(text, EXPLANATION, field="note")


async def do_edit_wording(
    session: AsyncSession,
    *,
    minutes: MinutesRecord,
    user_id: int,
    wording: Wording,
    note: str = "",
    publish_at: datetime | None = None,
    actor: str,
) -> MinutesVersion:
    """The secretary's new wording becomes the next version; the earlier ones stay (DESIGN.md §8). Only
    words: the facts come from the record again. A rejected version goes back to draft.
    Audit: minutes.edited. Not idempotent: every save is a version."""
    _is_secretary(minutes, user_id)
    state = _move(minutes.state, Step.EDIT)
    current = await current_version(session, minutes)
    check_wording(wording, {int(i["section"]) for i in list(current.content["items"])})  # type: ignore[call-overload]
    check_length(note, 500, field="note")
    meeting = await parent_row(session, Meeting, minutes.meeting_id)
    if publish_at is not None:
        if publish_at <= meeting.starts_at:
            raise ValidationFailed(DAYS_ONLY, field="publish_at")
        minutes.publish_at = publish_at
    now = session_clock(session)()
    minutes.version += 1
    minutes.state, minutes.updated_at = state, now
    document = await document_of(session, minutes, wording)
    version = MinutesVersion(
        minutes_id=minutes.id,
        number=minutes.version,
        wording=wording.as_json(),
        content=document_json(document),
        note=note.strip(),
        created_at=now,
        created_by=user_id,
    )
    session.add(version)
    await record(
        session,
        AuditAction.MINUTES_EDITED,
        actor=actor,
        subject=_subject(minutes),
        data={"version": minutes.version, "items": sorted(wording.items)},
    )
    return version


async def do_send_for_checking(
    session: AsyncSession, *, minutes: MinutesRecord, user_id: int, actor: str
) -> None:
    """The secretary hands the current version to the checkers (R-CHECK-1).
    Audit: minutes.sent_for_checking."""
    _is_secretary(minutes, user_id)
    state = _move(minutes.state, Step.SEND)
    if len((await _live(session, minutes)).checkers) < 1:
        raise Conflict(NO_CHECKERS)
    minutes.state, minutes.updated_at = state, session_clock(session)()
    await record(
        session,
        AuditAction.MINUTES_SENT_FOR_CHECKING,
        actor=actor,
        subject=_subject(minutes),
        data={"version": minutes.version},
    )


async def reviews_of(session: AsyncSession, minutes: MinutesRecord) -> list[MinutesReview]:
    query = select(MinutesReview).where(MinutesReview.minutes_id == minutes.id).order_by(MinutesReview.id)
    return list((await session.execute(query)).scalars())


async def do_review(
    session: AsyncSession,
    *,
    minutes: MinutesRecord,
    user_id: int,
    approve: bool,
    comment: str,
    actor: str,
) -> MinutesReview:
    """A checker approves or rejects the version with them, with a comment (R-CHECK-1). When every checker
    has approved it the minutes are checked (R-CHECK-3); a rejection sends them back to the secretary, or to
    the next meeting (R-CHECK-2). Audit: minutes.approved or minutes.rejected. Not idempotent."""
    # Two checkers at once: the second waits for the first and sees its approval (PostgreSQL: FOR UPDATE;
    # SQLite's BEGIN IMMEDIATE already serialises writers).
    await session.flush()
    await session.refresh(minutes, with_for_update=True)
    checkers = [int(c) for c in (await _live(session, minutes)).checkers]
    if user_id not in checkers:
        raise Forbidden(NOT_CHECKER)
    if MinutesState(minutes.state) != S.CHECKING:
        raise InvalidTransition(WRONG_STATE)
    check_length(comment, EXPLANATION, field="comment")
    earlier = [r for r in await reviews_of(session, minutes) if r.version == minutes.version]
    review = review_step(
        checkers,
        [(r.checker_id, r.approved) for r in earlier],
        user_id=user_id,
        approve=approve,
        comment=comment,
    )
    step = Step(review.value)
    now = session_clock(session)()
    minutes.state, minutes.updated_at = _move(minutes.state, step), now
    row = MinutesReview(
        minutes_id=minutes.id,
        version=minutes.version,
        checker_id=user_id,
        approved=approve,
        comment=comment.strip(),
        at=now,
    )
    session.add(row)
    await record(
        session,
        AuditAction.MINUTES_APPROVED if approve else AuditAction.MINUTES_REJECTED,
        actor=actor,
        subject=_subject(minutes),
        data={
            "version": minutes.version,
            "checked": step == Step.APPROVE_LAST,
            "comment": bool(comment.strip()),
        },
    )
    return row


async def checked_on(session: AsyncSession, minutes: MinutesRecord) -> date | None:
    """The day the checking was completed: the last approval of the current version."""
    approvals = [
        r.at for r in await reviews_of(session, minutes) if r.version == minutes.version and r.approved
    ]
    return max(approvals).astimezone(LOCAL).date() if approvals else None


async def signed_document(session: AsyncSession, minutes: MinutesRecord) -> MinutesDocument:
    """The current version's document as it is signed: with the checking note's day (R-MIN-2 legality data).
    Refused when the record no longer gives the facts this version was checked with."""
    version = await current_version(session, minutes)
    wording = Wording.from_json(dict(version.wording))
    document = await document_of(session, minutes, wording)
    if document_json(document) != version.content:
        raise Conflict(RECORD_CHANGED)
    return replace(
        document,
        meeting=replace(
            document.meeting,
            checking=replace(document.meeting.checking, checked_on=await checked_on(session, minutes)),
        ),
    )


@dataclass(frozen=True, slots=True)
class Rendering:
    """The chair's signature's slow part, done before its write transaction: the checked version's document
    as it will be signed, and its PDF/A. `do_sign` takes it only while the minutes are still at `version`."""

    minutes_id: int
    version: int
    content: dict[str, Any]  # minutes.serialise.document_json of the document
    pdf: bytes


_RENDERING = asyncio.Lock()  # one WeasyPrint render at a time per process: it is CPU-bound


async def render_for_signing(session: AsyncSession, minutes: MinutesRecord) -> Rendering:
    """Draft the checked version again from the record (refused if the record changed), then render its PDF in
    a worker thread. Call it in a read transaction, or none: rendering takes seconds for a long meeting and
    holds no lock (docs/minutes.md, "Speed")."""
    if MinutesState(minutes.state) != S.CHECKED:
        raise InvalidTransition(WRONG_STATE)
    document = await signed_document(session, minutes)
    async with _RENDERING:
        pdf = await asyncio.to_thread(render_pdf, document)
    return Rendering(minutes.id, minutes.version, document_json(document), pdf)


def _signer_role(minutes: MinutesRecord, user_id: int) -> tuple[SignerRole, Step]:
    if user_id == minutes.chair_id and MinutesState(minutes.state) == S.CHECKED:
        return SignerRole.CHAIR, Step.SIGN
    if user_id == minutes.secretary_id and MinutesState(minutes.state) == S.SIGNING:
        return SignerRole.SECRETARY, Step.COUNTERSIGN
    if user_id not in (minutes.chair_id, minutes.secretary_id):
        raise Forbidden(NOT_SIGNER)
    if user_id == minutes.secretary_id and MinutesState(minutes.state) == S.CHECKED:
        raise InvalidTransition(CHAIR_FIRST)
    raise InvalidTransition(WRONG_STATE)


def _chair_files(minutes: MinutesRecord, rendering: Rendering | None) -> tuple[dict[str, Any], bytes]:
    if rendering is None:
        raise LookupError("the chair's signature needs the rendering made before its transaction")
    if rendering.minutes_id != minutes.id or rendering.version != minutes.version:
        raise Conflict(VERSION_CHANGED)
    return rendering.content, rendering.pdf


async def do_sign(
    session: AsyncSession,
    *,
    minutes: MinutesRecord,
    user_id: int,
    name: str,
    actor: str,
    rendering: Rendering | None = None,
) -> MinutesSignature:
    """The chair signs the checked minutes, then the secretary countersigns (R-CHECK-1), each after step-up
    (the caller spends it in this transaction). The chair's signature certifies the PDF/A that
    `render_for_signing` made before this transaction (PAdES) and signs the RFC 8785 JSON (JWS); the
    secretary's is added to both files as a new revision, so the PDF is rendered once. Each embeds the audit
    log's latest signed checkpoint, written now. Audit: minutes.signed. Not idempotent."""
    role, step = _signer_role(minutes, user_id)
    state = _move(minutes.state, step)
    earlier = minutes.signed_json
    if role == SignerRole.CHAIR:
        content, pdf = _chair_files(minutes, rendering)
    elif minutes.signed_pdf is None or earlier is None:
        raise LookupError(f"minutes {minutes.id} are signed by the chair but keep no signed files")
    else:
        content, pdf = json.loads(earlier)["document"], minutes.signed_pdf
    now = session_clock(session)()
    ca: MunicipalCA = session_service(session, "minutes_ca")
    checkpoint = await write_checkpoint(session, reason="minutes.signed")
    credential = ca.signer(uid(user_id), name, now=now)  # named as the minutes name them
    token = sign_document(
        content,
        role=role,
        subject=uid(user_id),
        credential=credential,
        signed_at=now,
        checkpoint=checkpoint.note,
    )
    minutes.signed_json = signed_file(content, [token]) if earlier is None else add_signature(earlier, token)
    signer = PdfSigner(role, credential, ca.certificate, now, checkpoint.note)
    minutes.signed_pdf = await sign_pdf(pdf, signer)
    minutes.state, minutes.updated_at = state, now
    signature = MinutesSignature(
        minutes_id=minutes.id,
        role=role.value,
        user_id=user_id,
        version=minutes.version,
        signed_at=now,
        checkpoint=checkpoint.note,
    )
    session.add(signature)
    await record(
        session,
        AuditAction.MINUTES_SIGNED,
        actor=actor,
        subject=_subject(minutes),
        data={"role": role.value, "version": minutes.version, "checkpoint": checkpoint.tree_size},
    )
    return signature


async def do_publish(session: AsyncSession, *, minutes: MinutesRecord, user_id: int, actor: str) -> None:
    """The secretary publishes the signed minutes: the public copy is on the public network from
    `publish_at` with its instructions (R-PUB-1, R-PUB-5). Audit: minutes.published. Not idempotent."""
    _is_secretary(minutes, user_id)
    state = _move(minutes.state, Step.PUBLISH)
    now = session_clock(session)()
    minutes.state, minutes.published_at, minutes.updated_at = state, now, now
    await record(
        session,
        AuditAction.MINUTES_PUBLISHED,
        actor=actor,
        subject=_subject(minutes),
        data={"publish_at": minutes.publish_at.isoformat(), "version": minutes.version},
    )


def removal_at(minutes: MinutesRecord) -> datetime | None:
    """When personal data comes off the public copy: the end of the last period of its items (R-PUB-4),
    read from the signed document."""
    if minutes.signed_json is None:
        return None
    items: list[dict[str, Any]] = json.loads(minutes.signed_json)["document"]["items"]
    ends = []
    for item in items:
        kind = InstructionKind(item["instruction"]["kind"])
        provision = str(item["instruction"]["provision"]) if kind == InstructionKind.APPEAL_BAN else ""
        ends.append(appeal_dates(minutes.publish_at, kind, provision=provision).remove_personal_data_at)
    return max(ends, default=None)


async def do_remove_personal_data(
    session: AsyncSession, *, minutes: MinutesRecord, actor: str = SYSTEM
) -> None:
    """Take personal data off the public copy once the rectification or appeal period has ended (R-PUB-4):
    from now on the public copy is depersonalised (minutes.redaction); the signed originals are kept whole.
    Audit: minutes.personal_data_removed. Idempotent: done once."""
    if minutes.personal_data_removed_at is not None:
        return
    state = _move(minutes.state, Step.DEPERSONALISE)
    now = session_clock(session)()
    due = removal_at(minutes)
    if due is None or now < due:
        day = due.astimezone(LOCAL).date().isoformat() if due else "-"
        raise InvalidTransition(NOT_DUE, day=day)
    minutes.state, minutes.personal_data_removed_at, minutes.updated_at = state, now, now
    await record(
        session,
        AuditAction.MINUTES_PERSONAL_DATA_REMOVED,
        actor=actor,
        subject=_subject(minutes),
        data={"due": due.isoformat()},
    )


async def due_for_removal(session: AsyncSession, now: datetime) -> list[MinutesRecord]:
    query = select(MinutesRecord).where(
        MinutesRecord.state == MinutesState.PUBLISHED, MinutesRecord.personal_data_removed_at.is_(None)
    )
    return [m for m in (await session.execute(query)).scalars() if (due := removal_at(m)) and now >= due]
