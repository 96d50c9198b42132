"""A held meeting's proceedings: its event log beside the current state that pages and votes read.

The event log (`meeting_event`) is append-only and numbered per meeting; minutes are drafted from it
(R-MIN-2). The other tables hold what is true now, so that a page or a vote never replays the log: who sits
in which seat and who is present (`live_meeting.seating`), each item's handling, the floor, proposals, votes
and their ballots, dissents. Every change writes both in one transaction (DESIGN.md §6).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class HandlingState(StrEnum):
    """Where an item is in the meeting (the chair moves it on)."""

    PENDING = "pending"  # not taken up yet
    DISCUSSION = "discussion"  # taken up: the floor and proposals are open
    VOTING = "voting"  # discussion closed: the order is set and the votes are taken (R-VOTE-1)
    DECIDED = "decided"  # a decision is recorded (with or without a vote)


class FloorKind(StrEnum):
    SPEECH = "speech"  # puheenvuoro
    REPLY = "reply"  # repliikki: a short reply, ahead of the queue when the chair allows


class LiveMeeting(Base):
    """One row per opened meeting: its event counter and what is true at this moment."""

    __tablename__ = "live_meeting"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)  # the last event's number
    current_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_item.id"))
    # meetings.rules.seats.Seating as JSON: seats (member → holder), present, disconnected, disqualified.
    seating: Mapped[dict[str, object]] = mapped_column(JSON)
    remote: Mapped[list[int]] = mapped_column(JSON, default=list)  # present electronically (R-EMEET-3)
    chaired_by: Mapped[int] = mapped_column(
        ForeignKey("user_account.id")
    )  # whose vote breaks a tie (R-VOTE-2)
    lawful_declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # R-QUORUM-2
    checkers: Mapped[list[int]] = mapped_column(JSON, default=list)  # minutes checkers (R-CHECK-1)
    speaking_seconds: Mapped[int | None] = mapped_column(Integer)  # a limit on each speech, if any
    replies_allowed: Mapped[bool] = mapped_column(default=True)  # replies go ahead of the queue
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MeetingEventRecord(Base):
    """One step of the proceedings, numbered from 1 per meeting; never changed or removed."""

    __tablename__ = "meeting_event"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(48))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_item.id"))  # the item under way
    data: Mapped[dict[str, object]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("meeting_id", "version", name="uq_meeting_event_meeting_id_version"),)


class ItemHandling(Base):
    """How far an item's handling has got, and its decision once made."""

    __tablename__ = "item_handling"

    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"), primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=HandlingState.PENDING)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    discussion_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    order: Mapped[list[int]] = mapped_column(JSON, default=list)  # the voting order (R-VOTE-1, R-VOTE-4)
    order_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision: Mapped[str] = mapped_column(Text, default="")
    # How it was reached: "without_vote" (R-PROP-3), "vote", "tabled", "returned" (R-PROP-4).
    decided_how: Mapped[str] = mapped_column(String(16), default="")
    decided_proposal_id: Mapped[int | None] = mapped_column(Integer)


class Recusal(Base):
    """A person out of an item for disqualification: declared, or found by the body (R-DISQ-3/4/5)."""

    __tablename__ = "recusal"

    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    ground: Mapped[str] = mapped_column(String(32))
    decided_by_body: Mapped[bool] = mapped_column(default=False)  # R-DISQ-4, else declared (R-DISQ-5)
    explanation: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class FloorRequest(Base):
    """A request for the floor in an item: queued, granted, ended, or withdrawn."""

    __tablename__ = "floor_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(16), default=FloorKind.SPEECH)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_floor_request_item", "item_id", "requested_at"),)


class Proposal(Base):
    """A proposal on an item: the presenter's base proposal, or one made in the meeting (R-PROP-2…6)."""

    __tablename__ = "proposal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # meetings.rules.voting.ProposalKind
    text: Mapped[str] = mapped_column(Text)
    made_by: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id")
    )  # None: the base, by the presenter
    made_at: Mapped[datetime] = mapped_column(UTCDateTime())
    amended_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime()
    )  # the base, by the presenter (R-PROP-6)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Seconding(Base):
    __tablename__ = "seconding"

    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Vote(Base):
    """One pairwise vote of an item's voting order; what it decided is frozen when it closes (R-VOTE-3)."""

    __tablename__ = "vote"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"), index=True)
    step: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 … within the item
    jaa: Mapped[str] = mapped_column(String(16))  # a proposal id, or "continue" / "decline"
    ei: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    entitled: Mapped[list[int]] = mapped_column(JSON)  # frozen at opening: the seat holders who count
    chair_id: Mapped[int] = mapped_column(Integer)  # whose vote breaks a tie (R-VOTE-2)
    result: Mapped[dict[str, object] | None] = mapped_column(
        JSON
    )  # frozen at closing: counts, winner, choices

    __table_args__ = (UniqueConstraint("item_id", "step", name="uq_vote_item_id_step"),)


class Ballot(Base):
    """A member's choice in an open vote; changed in place until the vote closes, never two per person."""

    __tablename__ = "ballot"

    vote_id: Mapped[int] = mapped_column(ForeignKey("vote.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    choice: Mapped[str] = mapped_column(String(8))  # meetings.rules.voting.Choice
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Dissent(Base):
    """A dissenting opinion on an item's decision, with its written reasons if any (R-DISSENT-1)."""

    __tablename__ = "dissent"

    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    reasons: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Election(Base):
    """An election on an item (R-ELECT-*): its seats, method and ballot, frozen entitlement and result.

    `seed` is drawn when the election opens and only its SHA-256 is audited then; the close reveals it, and a
    tie's lot is a function of it (meetings.rules.elections.lot_order), so nobody can draw again unseen."""

    __tablename__ = "election"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(16))  # meetings.rules.elections.Method
    secret: Mapped[bool] = mapped_column()  # by closed ballot (R-ELECT-4, R-EMEET-7)
    seats: Mapped[int] = mapped_column(Integer)
    deputies: Mapped[int] = mapped_column(Integer, default=0)  # non-personal deputies (R-ELECT-3)
    seed: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    entitled: Mapped[list[int]] = mapped_column(JSON)  # frozen at opening: the seat holders who count
    result: Mapped[dict[str, object] | None] = mapped_column(JSON)  # frozen at closing


class ElectionCandidate(Base):
    """A nominated candidate (no seconding needed); in a proportional election on a list, in its order."""

    __tablename__ = "election_candidate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("election.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    list_no: Mapped[int | None] = mapped_column(Integer)  # proportional elections (R-ELECT-5)
    position: Mapped[int] = mapped_column(Integer, default=0)
    nominated_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class ElectionChoice(Base):
    """A member's ballot in an open election: public like a vote's, changed in place until the close."""

    __tablename__ = "election_choice"

    election_id: Mapped[int] = mapped_column(ForeignKey("election.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    choice: Mapped[list[int]] = mapped_column(JSON)  # candidate ids (majority) or one list number
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ElectionVoter(Base):
    """Who has cast a secret ballot: only that, to refuse a second (R-ELECT-8). No time, no ballot."""

    __tablename__ = "election_voter"

    election_id: Mapped[int] = mapped_column(ForeignKey("election.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)


class ElectionTally(Base):
    """A secret election's count for one option (a candidate, a list number, or 0 for blank): created at
    zero when the election opens and only ever incremented, so no row's existence or order tells which ballot
    came when (R-ELECT-8)."""

    __tablename__ = "election_tally"

    election_id: Mapped[int] = mapped_column(ForeignKey("election.id", ondelete="CASCADE"), primary_key=True)
    option: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, default=0)


class HeardStatement(Base):
    """A person heard on an item (an expert, an official, a party to the matter): R-MIN-2."""

    __tablename__ = "heard_statement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")  # title or organisation
    summary: Mapped[str] = mapped_column(Text, default="")
    heard_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
