"""Alembic environment: runs migrations on the connection that `web.migration` hands it."""

from __future__ import annotations

from alembic import context

import web.models  # noqa: F401  (registers every table on Base.metadata)
from core.db import Base

# SQLite's full-text table for the public search (meetings/search.py) and FTS5's own tables behind it are
# made by migration 0012, not by a model: comparing the models with the database leaves them out.
FTS_TABLES = "public_search_fts"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (type_ == "table" and name is not None and name.startswith(FTS_TABLES))


config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
