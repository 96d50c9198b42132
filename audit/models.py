"""Audit tables and the closed vocabulary of actions they record."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class AuditAction(StrEnum):
    """Every `subject.verb` the log may hold; adding one is a reviewed change."""

    SESSION_STARTED = "session.started"
    LOGIN_FAILED = "login.failed"
    # No longer written (no account is locked since sign-in throttling); kept to filter older entries by.
    LOGIN_LOCKED = "login.locked"
    LOGIN_RATE_LIMITED = "login.rate_limited"
    SESSION_ENDED = "session.ended"
    SESSION_REFRESHED = "session.refreshed"
    SESSION_STEPPED_UP = "session.stepped_up"
    TOKEN_REUSED = "token.reused"
    TOKEN_REJECTED = "token.rejected"
    REAUTH_FAILED = "reauth.failed"
    TOTP_ENROLMENT_STARTED = "totp.enrolment_started"
    TOTP_ENROLMENT_CONFIRMED = "totp.enrolment_confirmed"
    TOTP_FAILED = "totp.failed"
    TOTP_RESET = "totp.reset"
    RECOVERY_CODE_USED = "totp.recovery_used"
    PASSWORD_CHANGED = "password.changed"
    PASSWORD_REHASHED = "password.rehashed"
    USER_CREATED = "user.created"
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    ROLE_GRANTED = "role.granted"
    ROLE_REVOKED = "role.revoked"
    ACCESS_DENIED = "access.denied"
    FAILURES_SUMMARISED = "failures.summarised"
    AUDIT_EXPORTED = "audit.exported"
    ORGANISATION_UPDATED = "organisation.updated"
    BODY_CREATED = "body.created"
    BODY_UPDATED = "body.updated"
    MEMBERSHIP_ADDED = "membership.added"
    MEMBERSHIP_ENDED = "membership.ended"
    MEMBERS_IMPORTED = "members.imported"
    MEETING_CREATED = "meeting.created"
    MEETING_UPDATED = "meeting.updated"
    CALL_SENT = "call.sent"
    MEETING_CANCELLED = "meeting.cancelled"
    ITEM_ADDED = "item.added"
    ITEM_UPDATED = "item.updated"
    ITEM_REMOVED = "item.removed"
    ITEMS_REORDERED = "items.reordered"
    ATTACHMENT_ADDED = "attachment.added"
    ATTACHMENT_REMOVED = "attachment.removed"
    ATTACHMENT_UPDATED = "attachment.updated"
    DISQUALIFICATION_DECLARED = "disqualification.declared"
    DISQUALIFICATION_WITHDRAWN = "disqualification.withdrawn"
    MEETING_OPENED = "meeting.opened"
    MEETING_DECLARED_LAWFUL = "meeting.declared_lawful"
    MEETING_CHECKERS_CHOSEN = "meeting.checkers_chosen"
    MEETING_SUSPENDED = "meeting.suspended"
    MEETING_RESUMED = "meeting.resumed"
    MEETING_CLOSED = "meeting.closed"
    ARRIVAL_RECORDED = "arrival.recorded"
    DEPARTURE_RECORDED = "departure.recorded"
    DISCONNECTION_RECORDED = "disconnection.recorded"
    RECONNECTION_RECORDED = "reconnection.recorded"
    ITEM_TAKEN_UP = "item.taken_up"
    RECUSAL_RECORDED = "recusal.recorded"
    FLOOR_REQUESTED = "floor.requested"
    FLOOR_REQUEST_WITHDRAWN = "floor.request_withdrawn"
    FLOOR_GRANTED = "floor.granted"
    FLOOR_ENDED = "floor.ended"
    FLOOR_RULES_SET = "floor.rules_set"
    PROPOSAL_MADE = "proposal.made"
    PROPOSAL_SECONDED = "proposal.seconded"
    PROPOSAL_AMENDED = "proposal.amended"
    PROPOSAL_WITHDRAWN = "proposal.withdrawn"
    DISCUSSION_CLOSED = "discussion.closed"
    VOTING_ORDER_APPROVED = "voting_order.approved"
    VOTE_OPENED = "vote.opened"
    BALLOT_CAST = "ballot.cast"
    VOTE_CLOSED = "vote.closed"
    DECISION_MADE = "decision.made"
    DISSENT_REGISTERED = "dissent.registered"
    ELECTION_OPENED = "election.opened"
    # A secret ballot's entry names only the voter, never the choice (R-ELECT-8).
    ELECTION_BALLOT_CAST = "election.ballot_cast"
    ELECTION_CLOSED = "election.closed"
    STATEMENT_RECORDED = "statement.recorded"
    MEDIA_JOINED = "media.joined"
    MEDIA_RENEGOTIATED = "media.renegotiated"
    MEDIA_RATE_LIMITED = "media.rate_limited"  # too many offers: written in full a few times, then summarised
    MEDIA_LEFT = "media.left"
    MEDIA_LOST = "media.lost"
    MEDIA_ATTESTED = "media.attested"
    MEDIA_RECORDING_SET = "media.recording_set"
    MEDIA_RECORDING_STARTED = "media.recording_started"
    MEDIA_RECORDING_STOPPED = "media.recording_stopped"
    MEDIA_RECORDINGS_PUBLIC_SET = "media.recordings_public_set"  # offered to the public after the minutes
    MEDIA_RECORDINGS_DOWNLOADED = "media.recordings_downloaded"  # the public's downloads, counted per hour
    MEDIA_RECORDING_REMOVED = "media.recording_removed"  # its retention ended
    ROLL_CALL_STARTED = "roll_call.started"
    ROLL_CALL_MARKED = "roll_call.marked"
    ROLL_CALL_ENDED = "roll_call.ended"
    PROCEDURE_OPENED = "procedure.opened"
    PROCEDURE_STANCE_STATED = "procedure.stance_stated"
    PROCEDURE_REMINDED = "procedure.reminded"
    PROCEDURE_MOVED = "procedure.moved_to_meeting"
    PROCEDURE_DECIDED = "procedure.decided"
    PROCEDURE_WITHDRAWN = "procedure.withdrawn"
    MINUTES_DRAFTED = "minutes.drafted"
    MINUTES_EDITED = "minutes.edited"
    MINUTES_SENT_FOR_CHECKING = "minutes.sent_for_checking"
    MINUTES_APPROVED = "minutes.approved"
    MINUTES_REJECTED = "minutes.rejected"
    MINUTES_SIGNED = "minutes.signed"
    MINUTES_PUBLISHED = "minutes.published"
    MINUTES_PERSONAL_DATA_REMOVED = "minutes.personal_data_removed"
    PROCEDURE_CHECK_OPENED = "procedure_check.opened"
    PROCEDURE_CHECK_CHECKERS_CHOSEN = "procedure_check.checkers_chosen"
    PROCEDURE_CHECK_APPROVED = "procedure_check.approved"
    PROCEDURE_CHECK_REJECTED = "procedure_check.rejected"
    MAIL_DELIVERED = "mail.delivered"
    MAIL_FAILED = "mail.failed"
    MAIL_PURGED = "mail.purged"


# Actions renamed so that function, audit action and doc page agree (`do_send_call` ↔ `call.sent` ↔
# docs/actions/call.send.md). Entries already written keep the name they were hashed with, so a log still
# verifies; a search for the new name also finds them (docs/audit.md, "Renamed actions").
FORMER_NAMES: dict[AuditAction, tuple[str, ...]] = {
    AuditAction.SESSION_STARTED: ("login.succeeded",),
    AuditAction.SESSION_ENDED: ("session.logged_out",),
    AuditAction.SESSION_REFRESHED: ("token.refreshed",),
    AuditAction.TOTP_ENROLMENT_CONFIRMED: ("totp.enrolled",),
    AuditAction.CALL_SENT: ("meeting.call_sent",),
    AuditAction.ITEMS_REORDERED: ("agenda.reordered",),
}
CURRENT_NAME: dict[str, AuditAction] = {old: new for new, olds in FORMER_NAMES.items() for old in olds}


def names_of(action: str) -> tuple[str, ...]:
    """`action` and every name it had before: what a search for it must match."""
    current = CURRENT_NAME.get(action)
    if current is None:
        try:
            current = AuditAction(action)
        except ValueError:
            return (action,)
    return (str(current), *FORMER_NAMES.get(current, ()))


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    ts: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    # The entry's `data` object as RFC 8785 canonical JSON text, exactly as it was hashed.
    data: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    __table_args__ = (
        Index("ix_audit_entry_ts", "ts"),
        Index("ix_audit_entry_actor_seq", "actor", "seq"),
        Index("ix_audit_entry_action_seq", "action", "seq"),
    )


class AuditHead(Base):
    """One row: the newest entry. Locking it serialises appends on PostgreSQL."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    # Hex roots of the perfect subtrees at tree_size, so the next checkpoint hashes only new leaves.
    frontier: Mapped[str] = mapped_column(Text)
