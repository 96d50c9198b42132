"""Add elections and statements by persons heard

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 01:12:31.374155

Elections on an item (meetings/live/models.py): candidates, open ballots, and for secret ballots only who has
voted and per-option tallies, never a ballot with its voter (R-ELECT-8); persons heard on an item (R-MIN-2).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "election",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("deputies", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entitled", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["agenda_item.id"], name=op.f("fk_election_item_id_agenda_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_election")),
    )
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_election_item_id"), ["item_id"], unique=False)

    op.create_table(
        "heard_statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("heard_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["agenda_item.id"],
            name=op.f("fk_heard_statement_item_id_agenda_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["user_account.id"], name=op.f("fk_heard_statement_recorded_by_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_heard_statement")),
    )
    with op.batch_alter_table("heard_statement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_heard_statement_item_id"), ["item_id"], unique=False)

    op.create_table(
        "election_candidate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("list_no", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("nominated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["election.id"],
            name=op.f("fk_election_candidate_election_id_election"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["nominated_by"],
            ["user_account.id"],
            name=op.f("fk_election_candidate_nominated_by_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_election_candidate")),
    )
    with op.batch_alter_table("election_candidate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_election_candidate_election_id"), ["election_id"], unique=False)

    op.create_table(
        "election_choice",
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.JSON(), nullable=False),
        sa.Column("cast_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["election.id"],
            name=op.f("fk_election_choice_election_id_election"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_election_choice_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("election_id", "user_id", name=op.f("pk_election_choice")),
    )
    op.create_table(
        "election_tally",
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("option", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["election.id"],
            name=op.f("fk_election_tally_election_id_election"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("election_id", "option", name=op.f("pk_election_tally")),
    )
    op.create_table(
        "election_voter",
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["election.id"],
            name=op.f("fk_election_voter_election_id_election"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_election_voter_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("election_id", "user_id", name=op.f("pk_election_voter")),
    )


def downgrade() -> None:
    op.drop_table("election_voter")
    op.drop_table("election_tally")
    op.drop_table("election_choice")
    with op.batch_alter_table("election_candidate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_election_candidate_election_id"))

    op.drop_table("election_candidate")
    with op.batch_alter_table("heard_statement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_heard_statement_item_id"))

    op.drop_table("heard_statement")
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_election_item_id"))

    op.drop_table("election")
