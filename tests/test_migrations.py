"""Schema migrations keep the data they find: each is run down and up again over real rows."""
from __future__ import annotations

import uuid

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text

from engine import models as m
from engine.clock import ManualClock
from engine.db import MIGRATIONS, Database
from engine.handler_registry import HandlerRegistry
from engine.service import ProcessEngine
from engine.variables import text_hash
from tests.conftest import POSTGRES_URL, _postgres
from tests.engine_helpers import deploy, open_task_ids


def _migrate(database: Database, action, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, revision)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'migrations.db'}")
        yield database
        database.dispose()
        return
    schema = f"lt_migration_{uuid.uuid4().hex[:10]}"
    admin = Database(POSTGRES_URL)
    try:
        with admin.engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    database = _postgres(schema)
    yield database
    database.dispose()
    with admin.engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_variable_hashes_are_filled_in_for_the_rows_already_there(empty_database):
    database = empty_database
    _migrate(database, command.upgrade, "head")
    engine = ProcessEngine(database, handlers=HandlerRegistry(), clock=ManualClock(), worker_id="test-worker")
    deploy(engine, "message_boundary.bpmn")
    one = engine.start_instance("engine_withdrawable", {"caseNo": "HS-1", "applicant": {"name": "Nguyễn Văn An"}})
    two = engine.start_instance("engine_withdrawable", {"caseNo": "HS-2", "applicant": {"name": "Trần Thị Bình"}})

    _migrate(database, command.downgrade, "e3707baae23a")  # the schema before value_hash
    with database.engine.connect() as connection:
        columns = connection.execute(select(text("*")).select_from(text("variable")).limit(1)).keys()
    assert "value_hash" not in columns
    _migrate(database, command.upgrade, "head")

    with database.session() as session:
        rows = list(session.scalars(select(m.Variable)))
        assert len(rows) == 4
        assert all(row.value_hash == text_hash(row.value_json) for row in rows)
    [result] = engine.correlate_message("engine.withdrawn",
                                        correlation_keys={"applicant": {"name": "Trần Thị Bình"}})
    assert result.instance_id == two
    assert open_task_ids(engine, one) == ["Task_Work"]


def test_four_processes_starting_together_on_an_empty_database_migrate_it_once(empty_database):
    """Two of four crashed racing to create alembic_version; now one migrates, the others wait
    for its lock, find the schema at head and go on."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    url = empty_database.engine.url.render_as_string(hide_password=False)
    search_path = empty_database.engine.dialect.name == "postgresql"
    if search_path:  # the same private schema, for a process of its own
        schema = _schema_of(empty_database)
        url += f"?options=-csearch_path%3D{schema}"
    environ = {**os.environ, "DATABASE_URL": url}
    command = [str(Path(sys.executable).parent / "lienthong"), "migrate"]
    processes = [subprocess.Popen(command, env=environ,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(4)]
    outputs = [(p.wait(timeout=120), p.stdout.read().decode()) for p in processes]
    assert [code for code, _ in outputs] == [0, 0, 0, 0], outputs
    with empty_database.engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert len(versions) == 1
        assert connection.execute(text("SELECT count(*) FROM dossier_filing_key")).scalar() == 0


def _schema_of(database: Database) -> str:
    with database.engine.connect() as connection:
        return connection.execute(text("SELECT current_schema()")).scalar()


def test_dossiers_already_there_keep_one_standing_dossier_a_subject(empty_database):
    """b15d0c0de002 adds the unique index on standing subjects over the rows it finds: ended dossiers
    (or whose registering part ended) no longer stand; of twins stored before, the earliest stands."""
    database = empty_database
    _migrate(database, command.upgrade, "a15d0c0de001")
    rows = [  # code, state, received, subject, birth part's state
        ("H-1", "processing", "2026-11-30 02:00:00", "twin", "approved"),
        ("H-2", "processing", "2026-11-30 02:00:01", "twin", "processing"),
        ("H-3", "rejected", "2026-11-30 02:00:02", "other", "rejected"),
        ("H-4", "processing", "2026-11-30 02:00:03", "other", "refused"),
        ("H-5", "processing", "2026-11-30 02:00:04", "other", "processing"),
    ]
    with database.engine.begin() as connection:
        for code, state, received, subject, part_state in rows:
            connection.execute(text(
                "INSERT INTO dossier (code, procedure, agency_code, instance_id, state, received_at, delivery, "
                "declaration, subject_key) VALUES (:code, 'birth', 'H19.87.001', '', :state, :received, 'desk', "
                "'{}', :subject)"), {"code": code, "state": state, "received": received, "subject": subject})
            connection.execute(text(
                "INSERT INTO dossier_part (dossier_code, part, state, overdue, updated_at) "
                "VALUES (:code, 'birth', :state, false, :at)"),
                {"code": code, "state": part_state, "at": received})
    _migrate(database, command.upgrade, "head")
    with database.engine.connect() as connection:
        standing = dict(connection.execute(text("SELECT code, subject_standing FROM dossier ORDER BY code")).all())
    assert {code: bool(value) for code, value in standing.items()} == {
        "H-1": True, "H-2": False, "H-3": False, "H-4": False, "H-5": True}
    with pytest.raises(Exception, match="uq_dossier_standing_subject|UNIQUE constraint failed"):
        with database.engine.begin() as connection:
            connection.execute(text("UPDATE dossier SET subject_standing = true WHERE code = 'H-2'"))
    _migrate(database, command.downgrade, "a15d0c0de001")
    _migrate(database, command.upgrade, "head")
