"""Shared by the API tests: an app over the database alone, and rows written straight into it.

The query routes read plain rows and never call an engine command, so they are tested against
rows inserted here: no BPMN, no engine, exact control of every column (dates, states, links).
`rows_client` runs on SQLite and PostgreSQL like every `database` test.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest

from engine import models

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


class RowsOnlyEngine:
    """The part of ProcessEngine the query routes use; any command raises what it was given."""

    def __init__(self, db, clock, error: Exception | None = None):
        self.db = db
        self.clock = clock
        self.error = error or AssertionError("a query route called an engine command")
        self.calls: list[tuple[str, tuple, dict]] = []
        self.job_listeners: list = []  # the app's metrics listen (no job runs here)

    def __getattr__(self, name):
        def command(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            raise self.error

        return command


@pytest.fixture
def rows_engine(database, clock) -> RowsOnlyEngine:
    return RowsOnlyEngine(database, clock)


@pytest.fixture
def rows_client(rows_engine):
    from api.app import create_app

    from tests.auth import SETTINGS, logged_in

    app = create_app(rows_engine, identity=SETTINGS)
    app.config["TESTING"] = True
    return logged_in(app, rows_engine.db)


class Rows:
    """Writes model rows with sensible defaults; every helper returns the row's id."""

    def __init__(self, database):
        self.database = database
        self._ids = itertools.count(1)

    def _add(self, row):
        with self.database.session() as session:
            session.add(row)
        return row.id

    def _id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def deployment(self, **kw) -> str:
        kw.setdefault("id", self._id("dep"))
        kw.setdefault("name", "civil")
        kw.setdefault("deployment_time", T0)
        return self._add(models.Deployment(**kw))

    def definition(self, key="birth", version=1, **kw) -> str:
        kw.setdefault("id", f"{key}:{version}:{self._id('pd')}")
        kw.setdefault("deployment_id", kw.pop("deployment", None) or self.deployment())
        kw.setdefault("name", key.title())
        kw.setdefault("resource_name", f"{key}.bpmn")
        kw.setdefault("checksum", "0" * 64)
        kw.setdefault("spec", {})
        return self._add(models.ProcessDefinition(key=key, version=version, **kw))

    def instance(self, definition_id: str, state="ACTIVE", **kw) -> str:
        kw.setdefault("id", self._id("pi"))
        kw.setdefault("definition_key", definition_id.split(":")[0])
        kw.setdefault("start_time", T0)
        kw.setdefault("revision", 1)
        return self._add(models.ProcessInstance(definition_id=definition_id, state=state, **kw))

    def task(self, instance_id: str, groups=(), users=(), **kw) -> str:
        with self.database.session() as session:
            instance = session.get(models.ProcessInstance, instance_id)
            kw.setdefault("id", self._id("task"))
            kw.setdefault("definition_id", instance.definition_id)
            kw.setdefault("definition_key", instance.definition_key)
            kw.setdefault("business_key", instance.business_key)
            kw.setdefault("activity_id", "review")
            kw.setdefault("name", "Review")
            kw.setdefault("created", T0)
            kw.setdefault("priority", 50)
            session.add(models.Task(instance_id=instance_id, **kw))
            session.flush()
            for group in groups:
                session.add(models.IdentityLink(task_id=kw["id"], type="candidate", group_id=group))
            for user in users:
                session.add(models.IdentityLink(task_id=kw["id"], type="candidate", user_id=user))
        return kw["id"]

    def incident(self, instance_id: str, **kw) -> str:
        kw.setdefault("id", self._id("inc"))
        kw.setdefault("type", "failedJob")
        kw.setdefault("definition_id", "birth:1")
        kw.setdefault("activity_id", "notify")
        kw.setdefault("configuration", "job-x")
        kw.setdefault("created", T0)
        return self._add(models.Incident(instance_id=instance_id, **kw))

    def job(self, instance_id: str, **kw) -> str:
        kw.setdefault("id", self._id("job"))
        kw.setdefault("type", "service-task")
        kw.setdefault("definition_id", "birth:1")
        kw.setdefault("definition_key", "birth")
        kw.setdefault("activity_id", "notify")
        kw.setdefault("task_id", self._id("spiff"))
        kw.setdefault("due_at", T0)
        kw.setdefault("retries", 3)
        kw.setdefault("created", T0)
        return self._add(models.Job(instance_id=instance_id, **kw))

    def activity(self, instance_id: str, activity_id: str, **kw) -> str:
        kw.setdefault("id", self._id("act"))
        kw.setdefault("definition_id", "birth:1")
        kw.setdefault("definition_key", "birth")
        kw.setdefault("activity_type", "userTask")
        kw.setdefault("start_time", T0)
        return self._add(models.ActivityInstance(instance_id=instance_id, activity_id=activity_id, **kw))

    def operation(self, **kw) -> int:
        kw.setdefault("timestamp", T0)
        kw.setdefault("operation_type", "Claim")
        kw.setdefault("entity_type", "Task")
        kw.setdefault("details", {})
        with self.database.session() as session:
            row = models.UserOperation(**kw)
            session.add(row)
            session.flush()
            return row.id


@pytest.fixture
def rows(database) -> Rows:
    return Rows(database)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()]
