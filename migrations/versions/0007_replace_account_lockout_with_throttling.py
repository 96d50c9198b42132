"""Replace account lockout with sign-in throttling

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 15:00:00.000000

Five wrong passwords used to lock an account, so anyone who knew a member's username could keep them from
signing in. Failures now slow down the address they come from (docs/security.md), counted in the rate
limiter; the account's failure counter and lock time are gone. SQLite (3.35 and later) and PostgreSQL drop
a plain column in place, so the table, and the rows that refer to it, stay as they are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_column("user_account", "locked_until")
    op.drop_column("user_account", "failed_logins")


def downgrade() -> None:
    op.add_column(
        "user_account", sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("user_account", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
