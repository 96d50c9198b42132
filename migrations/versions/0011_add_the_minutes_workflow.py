"""Add the minutes workflow: versions, checkers' reviews, signatures, publication

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 03:50:21.190702
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "minutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("secretary_id", sa.Integer(), nullable=False),
        sa.Column("chair_id", sa.Integer(), nullable=False),
        sa.Column("publish_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_pdf", sa.LargeBinary(), nullable=True),
        sa.Column("signed_json", sa.LargeBinary(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("personal_data_removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chair_id"], ["user_account.id"], name=op.f("fk_minutes_chair_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_minutes_meeting_id_meeting"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["secretary_id"], ["user_account.id"], name=op.f("fk_minutes_secretary_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_minutes")),
        sa.UniqueConstraint("meeting_id", name=op.f("uq_minutes_meeting_id")),
    )
    op.create_table(
        "minutes_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("minutes_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("checker_id", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["checker_id"], ["user_account.id"], name=op.f("fk_minutes_review_checker_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["minutes_id"],
            ["minutes.id"],
            name=op.f("fk_minutes_review_minutes_id_minutes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_minutes_review")),
    )
    with op.batch_alter_table("minutes_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_minutes_review_minutes_id"), ["minutes_id"], unique=False)

    op.create_table(
        "minutes_signature",
        sa.Column("minutes_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["minutes_id"],
            ["minutes.id"],
            name=op.f("fk_minutes_signature_minutes_id_minutes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_minutes_signature_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("minutes_id", "role", name=op.f("pk_minutes_signature")),
    )
    op.create_table(
        "minutes_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("minutes_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("wording", sa.JSON(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"], name=op.f("fk_minutes_version_created_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["minutes_id"],
            ["minutes.id"],
            name=op.f("fk_minutes_version_minutes_id_minutes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_minutes_version")),
        sa.UniqueConstraint("minutes_id", "number", name="uq_minutes_version_minutes_id_number"),
    )
    with op.batch_alter_table("minutes_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_minutes_version_minutes_id"), ["minutes_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("minutes_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_minutes_version_minutes_id"))

    op.drop_table("minutes_version")
    op.drop_table("minutes_signature")
    with op.batch_alter_table("minutes_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_minutes_review_minutes_id"))

    op.drop_table("minutes_review")
    op.drop_table("minutes")
