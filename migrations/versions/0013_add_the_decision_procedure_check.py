"""Add the decision procedure's record, checked before the meeting

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 01:20:00.000000

The decisions of the electronic decision procedure drafted as minutes sections and checked on their own
before the meeting (KL 100 § 3 mom, R-CHECK-5), with the checkers' reviews.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "procedure_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("opened_by", sa.Integer(), nullable=False),
        sa.Column("checkers", sa.JSON(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_procedure_check_meeting_id_meeting"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["opened_by"], ["user_account.id"], name=op.f("fk_procedure_check_opened_by_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedure_check")),
        sa.UniqueConstraint("meeting_id", name=op.f("uq_procedure_check_meeting_id")),
    )
    op.create_table(
        "procedure_check_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("checker_id", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["procedure_check.id"],
            name=op.f("fk_procedure_check_review_check_id_procedure_check"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["checker_id"], ["user_account.id"], name=op.f("fk_procedure_check_review_checker_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedure_check_review")),
    )
    op.create_index(
        op.f("ix_procedure_check_review_check_id"), "procedure_check_review", ["check_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_procedure_check_review_check_id"), table_name="procedure_check_review")
    op.drop_table("procedure_check_review")
    op.drop_table("procedure_check")
