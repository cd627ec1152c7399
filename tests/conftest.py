"""Fixtures: every test that takes `database` (or anything built on it) runs on SQLite and on
PostgreSQL. PostgreSQL comes from LIENTHONG_TEST_POSTGRES_URL (default: the local server at
127.0.0.1:5432, database `test`); when it cannot be reached the PostgreSQL runs are skipped,
except under CI (CI=true), where that is a failure.
"""
from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.clock import ManualClock
from engine.db import Database
from engine.handler_registry import HandlerRegistry
from engine.models import Base

# Argon2 at its cheapest: the suite creates an account in most tests (production uses RFC 9106's profile).
os.environ.setdefault("LIENTHONG_PASSWORD_HASH", "cheapest")
FIXTURES = Path(__file__).parent / "fixtures"
# Every log call builds its record in tests, as in production (a bad `extra` key fails loudly).
logging.getLogger("lienthong").setLevel(logging.DEBUG)
POSTGRES_URL = os.environ.get(
    "LIENTHONG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """One migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_schema():
    """A private schema for this test session, migrated once, dropped at the end."""
    schema = f"lt_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = Database(POSTGRES_URL)
        with admin.engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach PostgreSQL decides the same way
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and could not be reached: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    database = _postgres(schema)
    database.migrate()
    database.dispose()
    yield schema
    with admin.engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _postgres(schema: str) -> Database:
    return Database(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Database:
    if request.param == "sqlite":
        path = tmp_path / "lienthong.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    else:
        database = _postgres(request.getfixturevalue("postgres_schema"))
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with database.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield database
    database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def handlers() -> HandlerRegistry:
    return HandlerRegistry()


@pytest.fixture
def engine(database, handlers, clock):
    from engine.service import ProcessEngine

    return ProcessEngine(database, handlers=handlers, clock=clock, worker_id="test-worker")


@pytest.fixture
def app(engine):
    from api.app import create_app
    from tests.auth import SETTINGS

    application = create_app(engine, identity=SETTINGS)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app, engine):
    """A client logged in as an administrator (tests of access use `anonymous` and their own accounts)."""
    from tests.auth import logged_in

    return logged_in(app, engine.db)


@pytest.fixture
def anonymous(app):
    return app.test_client()


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()
