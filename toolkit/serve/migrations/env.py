"""Alembic's environment: run on the connection the service hands over (see toolkit.serve.db.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from toolkit.serve.tables import metadata

_LOCK_KEY = 7401  # PostgreSQL advisory lock: several workers starting at once migrate one after another


def run() -> None:
    connection = context.config.attributes["connection"]
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})


run()
