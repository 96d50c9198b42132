"""Add the search over public agenda items

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 04:20:00.000000

The index of what the public may read (meetings/search.py): the indexed meetings with their signature, their
public items' text, and on SQLite an FTS5 table of the words' Finnish and Swedish stems. PostgreSQL searches
the text with its own `finnish` and `swedish` configurations.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "public_search_meeting",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_public_search_meeting_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_public_search_meeting")),
    )
    op.create_table(
        "public_search_item",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["agenda_item.id"],
            name=op.f("fk_public_search_item_item_id_agenda_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["public_search_meeting.meeting_id"],
            name=op.f("fk_public_search_item_meeting_id_public_search_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_public_search_item")),
    )
    op.create_index(
        op.f("ix_public_search_item_meeting_id"), "public_search_item", ["meeting_id"], unique=False
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE public_search_fts USING fts5(stems, tokenize = 'unicode61 remove_diacritics 0')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE public_search_fts")
    op.drop_index(op.f("ix_public_search_item_meeting_id"), table_name="public_search_item")
    op.drop_table("public_search_item")
    op.drop_table("public_search_meeting")
