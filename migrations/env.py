"""Alembic environment: runs migrations on the connection that `web.migration` hands it."""

from __future__ import annotations

from alembic import context

import web.models  # noqa: F401  (registers every table on Base.metadata)
from core.db import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
