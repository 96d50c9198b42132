"""The procedure's tables: an item put to stances, every stance ever stated, the municipal setting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime
from meetings.rules.decision_procedure import DeputyRule, ProcedureState

DEFAULT_REMINDER_HOURS = 24


class ProcedureSetting(Base):
    """The municipality's reading of the open questions (R-EDP-4) and when reminders go; one row, id 1.

    Without a row the cautious defaults hold: only a disqualified member's personal deputy answers for the
    seat, and the reminder goes a day before the deadline.
    """

    __tablename__ = "procedure_setting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deputy_rule: Mapped[str] = mapped_column(String(32), default=DeputyRule.CAUTIOUS)
    reminder_hours: Mapped[int] = mapped_column(Integer, default=DEFAULT_REMINDER_HOURS)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcedureItem(Base):
    """An agenda item in the procedure, from the call until it settles (R-EDP-3).

    `state` moves only as lifecycle.TRANSITIONS says, and only by a conditional UPDATE ... WHERE state =
    'open', so one process settles it. `settled_at` is the legal moment (the deadline, or the demand);
    `processed_at` is when this service recorded it, later than the deadline if the service was down.
    """

    __tablename__ = "procedure_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"), unique=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"))
    state: Mapped[str] = mapped_column(String(24), default=ProcedureState.OPEN)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deputy_rule: Mapped[str] = mapped_column(String(32))  # the setting when the call opened it (R-EDP-4)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    rule: Mapped[str] = mapped_column(String(16), default="")  # the rule that settled it, e.g. "R-EDP-3(3)"
    # The seats and the stances that answered them when it settled: what the minutes cite (R-MIN-2).
    outcome: Mapped[dict[str, object] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        Index("ix_procedure_item_open_deadline", "state", "deadline_at"),
        Index("ix_procedure_item_meeting", "meeting_id"),
    )


class ProcedureStance(Base):
    """One stance as stated; a change is a new row, so every change is kept (R-EDP-5 [INTERP])."""

    __tablename__ = "procedure_stance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure_item.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    stance: Mapped[str] = mapped_column(String(24))
    ground: Mapped[str | None] = mapped_column(String(32))
    explanation: Mapped[str] = mapped_column(Text, default="")
    stated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_procedure_stance_procedure", "procedure_id", "stated_at"),)
