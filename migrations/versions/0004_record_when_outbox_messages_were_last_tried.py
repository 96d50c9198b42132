"""Record when each outbox message was last tried

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 13:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTBOX = sa.table(
    "outbox_message",
    sa.column("attempts", sa.Integer()),
    sa.column("sent_at", sa.DateTime(timezone=True)),
    sa.column("last_attempt_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(OUTBOX.update().where(OUTBOX.c.sent_at.is_not(None)).values(last_attempt_at=OUTBOX.c.sent_at))
    # When an unsent message was last tried was not recorded: counting from this upgrade keeps a message
    # given up earlier for the whole retention period, never less.
    op.execute(
        OUTBOX.update()
        .where(OUTBOX.c.sent_at.is_(None), OUTBOX.c.attempts > 0)
        .values(last_attempt_at=datetime.now(UTC))
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("last_attempt_at")
