"""Record who was sent each meeting invitation

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 15:00:00.000000

A change or cancellation of a called meeting must reach everyone who has its event in their calendar, also
those no longer called to it; the outbox is purged, so it cannot tell who that is. For the meetings called
before this revision, the recipients are recovered from the call and update e-mails still in the outbox,
matched to the accounts by address; `first_sequence` is 1 for those whose call is there, else the meeting's
current SEQUENCE (an update's own SEQUENCE was not kept).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
INSERT INTO invitation_recipient (meeting_id, user_id, email, first_sequence, last_sequence)
SELECT m.id, u.id, u.email,
       MIN(CASE WHEN o.kind = 'meeting.call' THEN 1 ELSE m.calendar_sequence END),
       m.calendar_sequence
FROM meeting m
JOIN outbox_message o ON o.reference = 'meeting:' || m.id
JOIN user_account u ON u.email = o.recipient
WHERE m.status = 'called' AND o.kind IN ('meeting.call', 'meeting.call_updated')
  AND (SELECT COUNT(*) FROM user_account x WHERE x.email = u.email) = 1
GROUP BY m.id, u.id, u.email, m.calendar_sequence
"""


def upgrade() -> None:
    op.create_table(
        "invitation_recipient",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("first_sequence", sa.Integer(), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_invitation_recipient_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_invitation_recipient_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "user_id", name=op.f("pk_invitation_recipient")),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("invitation_recipient")
