"""The database: one SQLAlchemy engine and session factory, and the schema migrations."""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from . import batch
from .variables import json_default

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://) and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Database:
    def __init__(self, url: str, *, echo: bool = False, **engine_options):
        self.url = normalize_url(url)
        # JSON columns may receive dates a handler returned (audit details, variables): store them as ISO text.
        engine_options.setdefault("json_serializer", _dumps)
        if self.url.startswith("sqlite"):
            self._prepare_sqlite_folder()
            engine_options.setdefault("connect_args", {}).update({"timeout": 30, "check_same_thread": False})
        else:
            engine_options.setdefault("pool_pre_ping", True)
        self.engine: Engine = create_engine(self.url, echo=echo, **engine_options)
        self._reader: Engine = self.engine
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            # SQLite's driver opens transactions lazily; take the write lock at BEGIN instead, so two
            # writers never both read then fail to upgrade (Camunda's one-writer-wins, without deadlock).
            event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
            # Readers take no write lock: in WAL mode they see the last commit and never wait for writers.
            self._reader = create_engine(self.url, echo=echo, **engine_options)
            event.listen(self._reader, "connect", _sqlite_pragmas)
            event.listen(self._reader, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self._reader, expire_on_commit=False)
        batch.install(self._sessions)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def _prepare_sqlite_folder(self) -> None:
        path = self.url.split("///", 1)[-1] if "///" in self.url else ""
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read or write unit: commits when the block ends cleanly, rolls back otherwise."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for queries only: it never takes SQLite's write lock."""
        session = self._read_sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def migrate(self) -> None:
        """Bring the schema up to date (idempotent), once however many processes start together:
        the first holds a lock until its upgrade commits; the others then find the schema at head.
        (Without it, 2 of 4 API and worker processes started on an empty PostgreSQL database
        crashed racing to create alembic_version.) On SQLite the transaction's BEGIN IMMEDIATE is
        that lock; on PostgreSQL an advisory lock for the schema, released at commit."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            if self.is_postgresql:
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('lienthong.migrate:' || current_schema()))")
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def schema_is_current(self) -> bool:
        """True when the database answers and its schema is at the newest migration (readiness);
        raises the driver's error when the database does not answer."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        heads = set(ScriptDirectory(str(MIGRATIONS)).get_heads())
        with self._reader.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads()) == heads

    def dispose(self) -> None:
        self.engine.dispose()
        self._reader.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let the driver leave transaction control to the "begin" listener above.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=json_default)


# An embedded database under var/ when DATABASE_URL says nothing (lienthong/settings.py reads it).
DEFAULT_URL = "sqlite:///var/lienthong.db"
