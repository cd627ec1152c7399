"""Alembic environment: runs on the connection the engine hands over (engine/db.py)."""
from alembic import context

import dossiers.models  # noqa: F401 - the dossier tables share the engine's metadata
import agencies.models  # noqa: F401 - so do the agency stand-ins' records and the SMS outbox,
import identity.models  # noqa: F401 - the accounts and the audit trail
import registers.models  # noqa: F401 - and the local population register's changes
from engine.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` run by hand: read DATABASE_URL like the service does
    from engine.db import Database
    from lienthong.settings import Settings

    connection = Database(Settings.from_env().database_url).engine.connect()

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
