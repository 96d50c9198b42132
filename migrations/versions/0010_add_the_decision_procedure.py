"""Add the electronic decision procedure: items put to stances, every stance, the municipal setting

Revision ID: 0010_add_the_decision_procedure
Revises: 0009
Create Date: 2026-12-05 04:20:00.000000

KL 100 §: the call opens an item for stances until its deadline (R-EDP-3); each stance is a new row, so every
change is kept (R-EDP-5); the setting records how deputies and disqualified members count (R-EDP-4).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_add_the_decision_procedure"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "procedure_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deputy_rule", sa.String(length=32), nullable=False),
        sa.Column("reminder_hours", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedure_setting")),
    )
    op.create_table(
        "procedure_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deputy_rule", sa.String(length=32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["body_id"], ["body.id"], name=op.f("fk_procedure_item_body_id_body")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["agenda_item.id"],
            name=op.f("fk_procedure_item_item_id_agenda_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_procedure_item_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedure_item")),
        sa.UniqueConstraint("item_id", name=op.f("uq_procedure_item_item_id")),
    )
    op.create_index(
        "ix_procedure_item_open_deadline", "procedure_item", ["state", "deadline_at"], unique=False
    )
    op.create_index("ix_procedure_item_meeting", "procedure_item", ["meeting_id"], unique=False)
    op.create_table(
        "procedure_stance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("stance", sa.String(length=24), nullable=False),
        sa.Column("ground", sa.String(length=32), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("stated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["procedure_id"],
            ["procedure_item.id"],
            name=op.f("fk_procedure_stance_procedure_id_procedure_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_procedure_stance_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedure_stance")),
    )
    op.create_index(
        "ix_procedure_stance_procedure", "procedure_stance", ["procedure_id", "stated_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_procedure_stance_procedure", table_name="procedure_stance")
    op.drop_table("procedure_stance")
    op.drop_index("ix_procedure_item_meeting", table_name="procedure_item")
    op.drop_index("ix_procedure_item_open_deadline", table_name="procedure_item")
    op.drop_table("procedure_item")
    op.drop_table("procedure_setting")
