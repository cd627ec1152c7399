"""Camunda's transaction boundaries (issue 16): an in-process handler runs inside the command that
reaches its service task; camunda:asyncBefore makes it a job after the commit; camunda:asyncAfter
commits after it and a job continues. A handler that raises inside the command rolls the whole
command back to the last wait state; a BpmnError is caught by the diagram.

Diagram: tests/fixtures/engine/inline_boundaries.bpmn — Task_Fill (user) → Task_Check (inline,
inline.check, error boundary CHECK_REFUSED → Task_Refused) → Task_Remote (asyncBefore,
inline.remote) → Task_Record (asyncAfter, inline.record) → Task_Done (user).
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import models as m
from engine.handler_registry import BpmnError
from engine.jobs import HandlerFailed
from tests.engine_helpers import count, deploy, instance, jobs, open_task_ids, open_tasks


class Recorder:
    def __init__(self, result=None):
        self.calls, self.fail, self.result = [], None, result or {}

    def __call__(self, task):
        self.calls.append(task)
        # A handler's own writes share the command's transaction: this one must vanish with it.
        task.schedule_message("Msg_SideEffect", "INLINE-1", {"from": task.activity_id}, delay=timedelta(days=1),
                              job_id=f"side-{task.activity_id}-{len(self.calls)}")
        if self.fail is not None:
            raise self.fail
        return self.result


@pytest.fixture
def handlers_used(handlers):
    used = {"check": Recorder({"checked": True}), "remote": Recorder({"remote": "ok"}), "record": Recorder({"recorded": 1})}
    for name, handler in used.items():
        handlers.register(f"inline.{name}", handler)
    return used


@pytest.fixture
def started(engine, handlers_used):
    deploy(engine, "inline_boundaries.bpmn")
    return engine.start_instance("engine_inline", {"n": 1}, business_key="INLINE-1")


def fill(engine, instance_id, variables=None):
    [task] = open_tasks(engine, instance_id)
    return engine.complete_task(task.id, variables or {"filled": "yes"})


def test_an_inline_handler_runs_in_the_command_and_an_async_before_task_becomes_a_job(engine, handlers_used, started):
    fill(engine, started)
    assert len(handlers_used["check"].calls) == 1  # ran inside complete_task, no job
    assert handlers_used["remote"].calls == []  # asyncBefore: only after the commit, in a job
    [job] = jobs(engine, started, "service-task")
    assert job.activity_id == "Task_Remote" and job.schedule is None
    assert engine.instance_variables(started)["checked"] is True
    assert count(engine, m.Job, m.Job.type == "message") == 1  # the check's own write committed with it
    assert engine.run_due_jobs() == 1 and len(handlers_used["remote"].calls) == 1


def test_async_after_commits_after_the_handler_and_a_job_continues(engine, handlers_used, started):
    fill(engine, started)
    assert engine.run_due_jobs() == 1  # Task_Remote's job; then Task_Record runs inline and stops there
    assert len(handlers_used["record"].calls) == 1
    [job] = jobs(engine, started, "service-task")
    assert (job.activity_id, job.schedule) == ("Task_Record", {"continue": True})
    assert open_task_ids(engine, started) == []  # the handler ran but the task is not left yet
    assert "recorded" not in engine.instance_variables(started)
    assert engine.run_due_jobs() == 1  # the continuation: completes the task without calling again
    assert len(handlers_used["record"].calls) == 1
    assert open_task_ids(engine, started) == ["Task_Done"]
    assert engine.instance_variables(started)["recorded"] == 1
    assert jobs(engine, started, "service-task") == []


def test_a_failing_inline_handler_leaves_nothing_written(engine, handlers_used, started):
    handlers_used["check"].fail = ValueError("register row 42 is malformed")
    before = instance(engine, started)
    history = count(engine, m.ActivityInstance, m.ActivityInstance.instance_id == started)
    with pytest.raises(HandlerFailed, match=r"Task_Check \(inline.check\): register row 42 is malformed"):
        fill(engine, started, {"filled": "yes"})
    after = instance(engine, started)
    assert after.revision == before.revision and after.workflow == before.workflow
    assert open_task_ids(engine, started) == ["Task_Fill"]  # back at the last wait state
    assert "filled" not in engine.instance_variables(started)
    assert count(engine, m.ActivityInstance, m.ActivityInstance.instance_id == started) == history
    assert count(engine, m.Job) == 0  # neither a job nor the handler's own write
    handlers_used["check"].fail = None
    fill(engine, started)  # the same command succeeds once the cause is gone
    assert jobs(engine, started, "service-task")[0].activity_id == "Task_Remote"


def test_a_bpmn_error_of_an_inline_handler_is_caught_by_the_diagram(engine, handlers_used, started):
    handlers_used["check"].fail = BpmnError("CHECK_REFUSED", "không khớp")
    fill(engine, started)
    assert open_task_ids(engine, started) == ["Task_Refused"]
    assert engine.instance_variables(started)["refusal"] == "CHECK_REFUSED"
    assert jobs(engine, started, "service-task") == []


def test_the_caller_of_a_failing_command_gets_a_500_naming_the_task(engine, handlers_used, started, client):
    handlers_used["check"].fail = KeyError("citizenId")
    [task] = open_tasks(engine, started)
    response = client.post(f"/engine-rest/task/{task.id}/complete", json={"variables": {}})
    assert response.status_code == 500
    assert "Task_Check" in response.get_json()["message"]
    assert open_task_ids(engine, started) == ["Task_Fill"]
