"""The minutes' workflow in the database: one record per meeting, its versions, the checkers' reviews, the
signatures and the signed originals (DESIGN.md §8, R-CHECK-1 … R-CHECK-3, R-PUB-1 … R-PUB-4).

Content is never stored as rendered pages: every version keeps the secretary's wording and the canonical
JSON of the whole document it made (for the comparison of versions); the signed originals keep their bytes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class MinutesState(StrEnum):
    """Where the minutes are in their workflow (minutes.workflow.TRANSITIONS)."""

    DRAFT = "draft"  # the secretary edits the wording
    CHECKING = "checking"  # with the checkers (R-CHECK-1)
    REJECTED = "rejected"  # a checker did not approve: corrected, or checked at the next meeting (R-CHECK-2)
    CHECKED = "checked"  # every checker approved this version (R-CHECK-3)
    SIGNING = "signing"  # the chair has signed; the secretary's countersignature is missing
    SIGNED = "signed"  # signed and countersigned: the originals are kept for the body
    PUBLISHED = "published"  # on the public network from `publish_at` (R-PUB-1)


class MinutesRecord(Base):
    """A meeting's minutes: who keeps them, where they are in the workflow, the signed originals."""

    __tablename__ = "minutes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=MinutesState.DRAFT)
    version: Mapped[int] = mapped_column(Integer, default=1)  # the current version's number
    secretary_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))  # pöytäkirjanpitäjä
    chair_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))  # who chaired (R-CHECK-1)
    # When the checked minutes go on the public network (R-PUB-1); the instructions' dates follow (R-PUB-5).
    publish_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signed_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)  # PAdES, chair and secretary
    signed_json: Mapped[bytes | None] = mapped_column(LargeBinary)  # RFC 8785 JSON with detached JWS
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when the secretary published
    personal_data_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # R-PUB-4
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MinutesVersion(Base):
    """One version: the wording the secretary wrote and the whole document it made. Never changed."""

    __tablename__ = "minutes_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    minutes_id: Mapped[int] = mapped_column(ForeignKey("minutes.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    wording: Mapped[dict[str, object]] = mapped_column(JSON)  # minutes.drafting.Wording as JSON
    content: Mapped[dict[str, object]] = mapped_column(JSON)  # minutes.serialise.document_json
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: drafted by Kokous

    __table_args__ = (UniqueConstraint("minutes_id", "number", name="uq_minutes_version_minutes_id_number"),)


class MinutesReview(Base):
    """A checker's approval or rejection of one version, with their comment (R-CHECK-1, R-CHECK-2)."""

    __tablename__ = "minutes_review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    minutes_id: Mapped[int] = mapped_column(ForeignKey("minutes.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    checker_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    approved: Mapped[bool] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class MinutesSignature(Base):
    """Who signed in which role and when, with the audit checkpoint the signature embeds (R-CHECK-1)."""

    __tablename__ = "minutes_signature"

    minutes_id: Mapped[int] = mapped_column(ForeignKey("minutes.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)  # minutes.document.SignerRole
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(Integer)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checkpoint: Mapped[str] = mapped_column(Text)  # the signed checkpoint note (DESIGN.md §5)


class ProcedureCheckState(StrEnum):
    """Where a decision-procedure record is in its checking before the meeting (R-CHECK-5)."""

    CHECKING = "checking"  # with its checkers
    CHECKED = "checked"  # every checker approved: the decisions count as made (R-CHECK-3)
    REJECTED = "rejected"  # a checker did not approve: checked with the meeting's minutes (R-CHECK-2)


class ProcedureCheck(Base):
    """The decisions of the electronic decision procedure drafted as minutes sections and checked on their
    own before the meeting (KL 100 § 3 mom, R-CHECK-5). One per meeting; its sections are frozen when it is
    opened: an item decided later is checked with the meeting's minutes."""

    __tablename__ = "procedure_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=ProcedureCheckState.CHECKING)
    opened_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))  # the secretary or the chair
    checkers: Mapped[list[int]] = mapped_column(JSON, default=list)  # two members of the body
    sections: Mapped[list[int]] = mapped_column(JSON, default=list)  # the §s it covers
    # The drafted sections (minutes.serialise.plain of the items) and the people they name.
    content: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the last approval


class ProcedureCheckReview(Base):
    """A checker's approval or rejection of the decision-procedure record, with their comment."""

    __tablename__ = "procedure_check_review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("procedure_check.id", ondelete="CASCADE"), index=True)
    checker_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    approved: Mapped[bool] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())
