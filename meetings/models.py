"""The municipality's rules, its bodies and their members, meetings, agenda items and attachments."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime


class BodyKind(StrEnum):
    COUNCIL = "council"  # valtuusto
    EXECUTIVE = "executive"  # kunnanhallitus
    COMMITTEE = "committee"  # lautakunta, valiokunta
    SUBCOMMITTEE = "subcommittee"  # jaosto (R-BASE-3)
    OTHER = "other"  # johtokunta, toimikunta


class CallDayCount(StrEnum):
    """How "N days before the meeting" is counted (R-CALL-3 [INTERP])."""

    SENDING_DAY_EXCLUDED = "sending_day_excluded"  # meeting date − sending date ≥ N
    BOTH_DAYS_EXCLUDED = "both_days_excluded"  # N whole days in between


class CheckingMethod(StrEnum):
    """How a body's minutes are checked (R-CHECK-1)."""

    CHECKERS = "checkers"
    IN_MEETING = "in_meeting"
    NEXT_MEETING = "next_meeting"


class MemberRole(StrEnum):
    MEMBER = "member"
    DEPUTY = "deputy"
    CHAIR = "chair"
    VICE_CHAIR = "vice_chair"
    SECRETARY = "secretary"
    PRESENTER = "presenter"  # esittelijä
    ATTENDEE = "attendee"  # right to attend and speak (läsnäolo- ja puheoikeus)


class MeetingMode(StrEnum):
    IN_PERSON = "in_person"
    ELECTRONIC = "electronic"
    HYBRID = "hybrid"  # counts as electronic (R-MODE-3)


class MeetingStatus(StrEnum):
    """The states of meetings/lifecycle.py's transition table."""

    DRAFT = "draft"
    CALLED = "called"
    HELD = "held"  # opened by the chair; under way
    SUSPENDED = "suspended"  # opened, and interrupted for now
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Publicity(StrEnum):
    PUBLIC = "public"
    CONFIDENTIAL = "confidential"  # wholly: only a mention is published (R-PUB-2)
    PARTLY_CONFIDENTIAL = "partly_confidential"  # public part published, the rest withheld (JulkL 10 §)


class DecisionMode(StrEnum):
    MEETING = "meeting"
    DECISION_PROCEDURE = "decision_procedure"  # KL 100 §, before the meeting


class DisqualificationGround(StrEnum):
    """HL 28 § 1 mom grounds (R-DISQ-2); 6 does not apply in municipalities (KL 97 § 4 mom)."""

    PARTY = "party"  # 1: self or close person is a party
    REPRESENTATIVE = "representative"  # 2: assists or represents a party
    BENEFIT_OR_HARM = "benefit_or_harm"  # 3: special benefit or harm to self or close person
    EMPLOYMENT = "employment"  # 4: employed by or engaged with a party
    BOARD_OR_CEO = "board_or_ceo"  # 5: board member or CEO of a party
    OTHER = "other"  # 7: other reason endangering trust in impartiality


class Organisation(Base):
    """The municipality and the settings its administrative rules (hallintosääntö) give (R-BASE-1)."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_sv: Mapped[str] = mapped_column(String(200), default="")
    default_call_period_days: Mapped[int] = mapped_column(Integer, default=4)
    call_day_count: Mapped[str] = mapped_column(String(32), default=CallDayCount.SENDING_DAY_EXCLUDED)
    council_tabling_minority: Mapped[str] = mapped_column(String(8), default="1/4")
    minutes_retention_days: Mapped[int] = mapped_column(Integer, default=365)
    default_checking_method: Mapped[str] = mapped_column(String(32), default=CheckingMethod.CHECKERS)
    attachment_max_bytes: Mapped[int] = mapped_column(BigInteger, default=50 * 1024 * 1024)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Body(Base):
    __tablename__ = "body"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_sv: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("body.id"))
    seats: Mapped[int] = mapped_column(Integer)  # statutory seat count (R-QUORUM-1)
    call_period_days: Mapped[int | None] = mapped_column(Integer)  # None: the organisation's default
    electronic_meetings_allowed: Mapped[bool] = mapped_column(Boolean, default=False)  # R-BASE-2
    decision_procedure_allowed: Mapped[bool] = mapped_column(Boolean, default=False)  # R-EDP-2
    checking_method: Mapped[str | None] = mapped_column(String(32))
    meetings_public_by_default: Mapped[bool] = mapped_column(Boolean, default=False)  # R-PUBLIC-1/3
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    members: Mapped[list[Membership]] = relationship(back_populates="body", lazy="raise")


class Membership(Base):
    """One role of one person in one body for a term; a person may hold several (member and chair)."""

    __tablename__ = "membership"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    # A personal deputy names the member's MEMBER membership they stand in for (R-ELECT-3).
    deputy_for_id: Mapped[int | None] = mapped_column(ForeignKey("membership.id", ondelete="SET NULL"))
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date | None] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200), default="")  # e.g. the presenter's office
    # The council group or joint list, and a deputy councillor's place in its election result: the next
    # deputy of a prevented councillor's group takes the seat (R-DEP-1).
    group: Mapped[str] = mapped_column(String(100), default="", server_default="")
    rank: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    body: Mapped[Body] = relationship(back_populates="members", lazy="raise")

    __table_args__ = (
        Index("ix_membership_body_user", "body_id", "user_id"),
        Index("ix_membership_user", "user_id"),
    )


class Meeting(Base):
    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"))
    number: Mapped[int] = mapped_column(Integer)  # running per body and year: 3/2026
    year: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    place: Mapped[str] = mapped_column(String(300))
    mode: Mapped[str] = mapped_column(String(16))
    is_public: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), default=MeetingStatus.DRAFT)
    first_section: Mapped[int] = mapped_column(Integer, default=1)  # the first item's § number
    agenda_version: Mapped[int] = mapped_column(Integer, default=0)
    call_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The SEQUENCE of the last calendar invitation sent (RFC 5545 3.8.7.4): each later one must be higher.
    calendar_sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("body_id", "year", "number", name="uq_meeting_body_year_number"),
        Index("ix_meeting_starts_at", "starts_at"),
    )


class AgendaItem(Base):
    __tablename__ = "agenda_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    section: Mapped[int] = mapped_column(Integer)  # the § number
    title: Mapped[str] = mapped_column(String(500))
    presenter_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    preparer: Mapped[str] = mapped_column(String(300), default="")  # name and title, published
    preparer_contact: Mapped[str] = mapped_column(String(300), default="")  # members only
    description: Mapped[str] = mapped_column(Text, default="")
    proposal: Mapped[str] = mapped_column(Text, default="")
    publicity: Mapped[str] = mapped_column(String(32), default=Publicity.PUBLIC)
    confidentiality_basis: Mapped[str] = mapped_column(
        String(300), default=""
    )  # e.g. "JulkL 24 § 1 mom 25 k"
    public_summary: Mapped[str] = mapped_column(
        Text, default=""
    )  # the published part of a partly confidential item
    decision_mode: Mapped[str] = mapped_column(String(32), default=DecisionMode.MEETING)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AgendaItemVersion(Base):
    """What an item said before each change made after the call was sent (visible to its readers)."""

    __tablename__ = "agenda_item_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, object]] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: not a person
    reason: Mapped[str] = mapped_column(String(500), default="")


class Attachment(Base):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    is_public: Mapped[bool] = mapped_column(Boolean)
    confidentiality_basis: Mapped[str] = mapped_column(String(300), default="")
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: not a person
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Disqualification(Base):
    """A member's advance declaration that they are disqualified for an item (R-DISQ-5)."""

    __tablename__ = "disqualification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    ground: Mapped[str] = mapped_column(String(32))
    explanation: Mapped[str] = mapped_column(Text, default="")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InvitationRecipient(Base):
    """Someone mailed the meeting's calendar event, so that a later change or cancellation reaches them
    even when they are no longer called (the outbox rows are purged, so they cannot tell)."""

    __tablename__ = "invitation_recipient"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    # Where the latest message went: used when their account has no address any more.
    email: Mapped[str] = mapped_column(String(320))
    first_sequence: Mapped[int] = mapped_column(Integer)  # the SEQUENCE of the first invitation they got
    last_sequence: Mapped[int] = mapped_column(Integer)  # ... and of the latest message about the event
    # Sent a METHOD:CANCEL because they are no longer called: later messages skip them unless called again.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """An e-mail to deliver after commit: written in the transaction of the action that causes it."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(64))  # e.g. "meeting:12"
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    calendar: Mapped[str | None] = mapped_column(Text)  # an iCalendar METHOD:REQUEST or METHOD:CANCEL part
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the latest try began: a message given up is kept for KOKOUS_OUTBOX_DAYS after it.
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(String(500), default="")

    # AUTOINCREMENT: a purge deletes the newest rows too, and their ids (audit subjects) must not come back.
    __table_args__ = (Index("ix_outbox_message_pending", "sent_at", "id"), {"sqlite_autoincrement": True})
