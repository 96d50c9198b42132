"""Spend each step-up on one sensitive action

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 16:00:00.000000

A step-up (password and second factor proven again) used to open a ten-minute window in which one access
token could make any number of admin changes. Each step-up is now a row that the first sensitive action
using it marks used, in that action's transaction (docs/security.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "step_up",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_step_up_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_up")),
        sa.UniqueConstraint("nonce", name=op.f("uq_step_up_nonce")),
    )
    op.create_index(op.f("ix_step_up_user_id"), "step_up", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_step_up_user_id"), table_name="step_up")
    op.drop_table("step_up")
