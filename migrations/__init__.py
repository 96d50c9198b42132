"""Alembic's environment and the revisions of every package's tables; applied by `kokous db upgrade`."""
