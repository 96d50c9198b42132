"""Never reuse outbox message ids

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 14:00:00.000000

Purging delivered messages deletes the newest rows too; without AUTOINCREMENT SQLite would hand their ids
out again, and two audit entries `mail.delivered outbox:N` would name different messages. PostgreSQL's
sequences never go back, so only SQLite's table is rebuilt.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "outbox_message", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
