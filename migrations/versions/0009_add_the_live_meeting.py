"""Add the live meeting: event log, seats, items, floor, proposals, votes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 23:40:00.000000

A held meeting's proceedings (DESIGN.md §6): the numbered event log beside the tables that hold what is true
now. Memberships gain the council group and a deputy's rank in it (R-DEP-1).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dissent",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["agenda_item.id"], name=op.f("fk_dissent_item_id_agenda_item"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_dissent_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("item_id", "user_id", name=op.f("pk_dissent")),
    )
    op.create_table(
        "floor_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["agenda_item.id"],
            name=op.f("fk_floor_request_item_id_agenda_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_floor_request_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_floor_request_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_floor_request")),
    )
    with op.batch_alter_table("floor_request", schema=None) as batch_op:
        batch_op.create_index("ix_floor_request_item", ["item_id", "requested_at"], unique=False)

    op.create_table(
        "item_handling",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discussion_closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order", sa.JSON(), nullable=False),
        sa.Column("order_approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("decided_how", sa.String(length=16), nullable=False),
        sa.Column("decided_proposal_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["agenda_item.id"],
            name=op.f("fk_item_handling_item_id_agenda_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_item_handling_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_handling")),
    )
    with op.batch_alter_table("item_handling", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_handling_meeting_id"), ["meeting_id"], unique=False)

    op.create_table(
        "live_meeting",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("current_item_id", sa.Integer(), nullable=True),
        sa.Column("seating", sa.JSON(), nullable=False),
        sa.Column("remote", sa.JSON(), nullable=False),
        sa.Column("chaired_by", sa.Integer(), nullable=False),
        sa.Column("lawful_declared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkers", sa.JSON(), nullable=False),
        sa.Column("speaking_seconds", sa.Integer(), nullable=True),
        sa.Column("replies_allowed", sa.Boolean(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["chaired_by"], ["user_account.id"], name=op.f("fk_live_meeting_chaired_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["current_item_id"], ["agenda_item.id"], name=op.f("fk_live_meeting_current_item_id_agenda_item")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_live_meeting_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_live_meeting")),
    )
    op.create_table(
        "meeting_event",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=48), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["agenda_item.id"], name=op.f("fk_meeting_event_item_id_agenda_item")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_event_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_event")),
        sa.UniqueConstraint("meeting_id", "version", name="uq_meeting_event_meeting_id_version"),
    )
    op.create_table(
        "proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("made_by", sa.Integer(), nullable=True),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["agenda_item.id"], name=op.f("fk_proposal_item_id_agenda_item"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["made_by"], ["user_account.id"], name=op.f("fk_proposal_made_by_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal")),
    )
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposal_item_id"), ["item_id"], unique=False)

    op.create_table(
        "recusal",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ground", sa.String(length=32), nullable=False),
        sa.Column("decided_by_body", sa.Boolean(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["agenda_item.id"], name=op.f("fk_recusal_item_id_agenda_item"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_recusal_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("item_id", "user_id", name=op.f("pk_recusal")),
    )
    op.create_table(
        "vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("jaa", sa.String(length=16), nullable=False),
        sa.Column("ei", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entitled", sa.JSON(), nullable=False),
        sa.Column("chair_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["agenda_item.id"], name=op.f("fk_vote_item_id_agenda_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vote")),
        sa.UniqueConstraint("item_id", "step", name="uq_vote_item_id_step"),
    )
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vote_item_id"), ["item_id"], unique=False)

    op.create_table(
        "ballot",
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.String(length=8), nullable=False),
        sa.Column("cast_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_ballot_user_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["vote_id"], ["vote.id"], name=op.f("fk_ballot_vote_id_vote"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("vote_id", "user_id", name=op.f("pk_ballot")),
    )
    op.create_table(
        "seconding",
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposal.id"],
            name=op.f("fk_seconding_proposal_id_proposal"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_seconding_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("proposal_id", "user_id", name=op.f("pk_seconding")),
    )
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group", sa.String(length=100), server_default="", nullable=False))
        batch_op.add_column(sa.Column("rank", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_column("rank")
        batch_op.drop_column("group")

    op.drop_table("seconding")
    op.drop_table("ballot")
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vote_item_id"))

    op.drop_table("vote")
    op.drop_table("recusal")
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_item_id"))

    op.drop_table("proposal")
    op.drop_table("meeting_event")
    op.drop_table("live_meeting")
    with op.batch_alter_table("item_handling", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_handling_meeting_id"))

    op.drop_table("item_handling")
    with op.batch_alter_table("floor_request", schema=None) as batch_op:
        batch_op.drop_index("ix_floor_request_item")

    op.drop_table("floor_request")
    op.drop_table("dissent")
