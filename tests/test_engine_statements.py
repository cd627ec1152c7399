"""A command's round trips (issue 16): a user-task step on PostgreSQL is at most 6 SQL statements,
and what it writes in fewer statements is still all written (history, inbox, candidates,
variables, audit), or, when the command fails, none of it."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

from engine import models as m
from engine.errors import InvalidRequest
from tests.engine_helpers import history, open_tasks, rows, user_operations

STEP = (Path(__file__).resolve().parent.parent / "bench" / "plain_step.bpmn").read_bytes()


def started(engine) -> tuple[str, str]:
    engine.deploy({"plain_step.bpmn": STEP}, name="step")
    instance_id = engine.start_instance("bench_step", {"n": 1}, business_key="HS-1")
    return instance_id, open_tasks(engine, instance_id)[0].id


def statements_of(engine, action) -> list[str]:
    sent: list[str] = []
    listener = lambda _conn, _cursor, statement, *_: sent.append(statement)  # noqa: E731
    event.listen(engine.db.engine, "before_cursor_execute", listener)
    try:
        action()
    finally:
        event.remove(engine.db.engine, "before_cursor_execute", listener)
    return [s for s in sent if not s.startswith("BEGIN")]


def test_a_user_task_step_writes_everything_in_few_statements(engine):
    instance_id, first = started(engine)

    sent = statements_of(engine, lambda: engine.complete_task(first, {"done": True}, actor="an"))

    if engine.db.is_postgresql:  # read, instance, old task, one statement for every insert
        assert len(sent) <= 6, sent
    [second] = open_tasks(engine, instance_id)
    assert second.activity_id == "Task_Second"
    assert [(link.group_id, link.type) for link in rows(engine, m.IdentityLink, m.IdentityLink.task_id == second.id)] \
        == [("officers", "candidate")]
    assert rows(engine, m.IdentityLink, m.IdentityLink.task_id == first) == []  # went with its task
    steps = {a.activity_id: a for a in history(engine, instance_id)}
    assert steps["Task_First"].end_time is not None and not steps["Task_First"].canceled
    assert steps["Task_Second"].end_time is None and steps["Task_Second"].task_id == second.id
    assert engine.instance_variables(instance_id) == {"n": 1, "done": True}
    complete = [op for op in user_operations(engine, instance_id) if op.operation_type == "Complete"]
    assert [(op.user_id, op.task_id, op.details) for op in complete] == [("an", first, {"variables": {"done": True}})]


def test_a_failing_command_leaves_none_of_its_queued_rows(engine, monkeypatch):
    instance_id, first = started(engine)
    before = (len(history(engine, instance_id)), len(user_operations(engine, instance_id)))

    def fails(*_args, **_kwargs):
        raise InvalidRequest("refused after the rows were queued")

    # The inserts are queued by save(); the command fails after it, before its commit.
    monkeypatch.setattr(engine, "record_operation", fails)
    with pytest.raises(InvalidRequest):
        engine.complete_task(first, {"done": True})

    assert [t.id for t in open_tasks(engine, instance_id)] == [first]
    assert (len(history(engine, instance_id)), len(user_operations(engine, instance_id))) == before
    assert engine.instance_variables(instance_id) == {"n": 1}
    monkeypatch.undo()
    engine.complete_task(first, {"done": True})  # and the session after it starts clean
    assert [t.activity_id for t in open_tasks(engine, instance_id)] == ["Task_Second"]
