"""Alembic environment: runs migrations on the connection that `storage.db.upgrade` hands over.

No alembic.ini is needed: `storage.db.alembic_config` builds the configuration in code and puts an
open connection in `config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by running the alembic CLI by hand
    raise RuntimeError("run migrations through storage.db.upgrade(), which supplies a connection")

context.configure(
    connection=connection,
    target_metadata=None,  # migrations are written out explicitly; no autogenerate at run time
    # SQLite cannot ALTER most things; batch mode rebuilds tables for future migrations.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)

with context.begin_transaction():
    context.run_migrations()
