"""The rows beside an instance's state never drift from it.

Saving writes only the difference between the rows the state implied when it was loaded and the
rows it implies now (engine/row_image.py, `RowImage`), without reading what is stored. That holds
only if, after every command, the stored rows are exactly what the stored state implies, worked
out here from SpiffWorkflow's tasks without the engine's RowImage. These
tests check that after every single command of scenarios that exercise each kind of row: user
tasks and their candidates, handler jobs and external tasks (with incidents), timers (a cycle
moving its due date, a boundary timer firing), message subscriptions, open history, variables,
embedded subprocesses, interrupting and non-interrupting events, loops and parallel joins, and a
whole birth dossier with a supplement round.
"""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import models as m
from engine.bpmn.event_subprocess import untriggered
from engine.runtime import Runtime
from tests.engine_helpers import deploy, jobs, open_tasks, the_task
from tests import documents
from tests.portal import MONDAY_9AM, workflow_files


def stored_rows(session, instance_id: str) -> dict:
    def of(model, *criteria):
        return list(session.scalars(select(model).where(model.instance_id == instance_id, *criteria)))

    return {
        "user_tasks": {t.id for t in of(m.Task)},
        "service_tasks": {j.task_id for j in of(m.Job, m.Job.type == "service-task")}
        | {x.task_id for x in of(m.ExternalTask)},
        "timers": {j.task_id: j.due_at for j in of(m.Job, m.Job.type == "timer")},
        "subscriptions": {(s.event_name, s.activity_id) for s in of(m.EventSubscription)},
        "open_history": {a.id for a in of(m.ActivityInstance, m.ActivityInstance.end_time.is_(None))},
        "variables": {v.name: json.loads(v.value_json) for v in of(m.Variable)},
    }


OPEN = (TaskState.READY, TaskState.WAITING, TaskState.STARTED)


def waits_for(task) -> list:
    """The event definitions a waiting task waits for: its own, or, for an event-based gateway,
    those of the events after it (SpiffWorkflow's MultipleEventDefinition)."""
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition] if definition is not None else []


def timer_due(task) -> datetime | None:
    """When SpiffWorkflow will fire this waiting timer next, from what it stored on the task."""
    value = task.internal_data.get("event_value")
    if value is None or task.internal_data.get("event_fired"):
        return None
    if isinstance(value, dict):  # a cycle: {"next": ..., "cycles": remaining, -1 unbounded}
        return datetime.fromisoformat(value["next"]) if value["cycles"] != 0 else None
    return datetime.fromisoformat(value)


def implied_rows(workflow) -> dict:
    """The rows the stored state implies, read from SpiffWorkflow's tasks directly (not through the
    engine's RowImage, whose correctness is what is checked)."""
    activities = [t for t in workflow.get_tasks() if "activityType" in (getattr(t.task_spec, "extensions", None) or {})]
    ready = [t for t in activities if t.state == TaskState.READY]
    waiting = [t for t in workflow.get_tasks(state=TaskState.WAITING)]
    timers = {str(t.id): timer_due(t) for t in waiting if any(isinstance(d, TimerEventDefinition) for d in waits_for(t))}
    return {
        "user_tasks": {str(t.id) for t in ready if isinstance(t.task_spec, UserTask)},
        "service_tasks": {str(t.id) for t in ready if t.task_spec.extensions.get("topic")},
        "timers": {task_id: due for task_id, due in timers.items() if due is not None},
        "subscriptions": {(d.name, t.task_spec.bpmn_id) for t in waiting for d in waits_for(t)
                          if isinstance(d, MessageEventDefinition)},
        # A waiting boundary event is no activity instance until it fires (Camunda), nor is an event
        # subprocess (or its start event) whose event has not come.
        "open_history": {str(t.id) for t in activities if t.state in OPEN and not isinstance(t.task_spec, BoundaryEvent)
                         and not _in_untriggered_event_subprocess(t)},
        "variables": dict(workflow.data.get("variables", {})),
    }


def _in_untriggered_event_subprocess(task) -> bool:
    parent_id = task.workflow.parent_task_id
    parent = task.workflow.top_workflow.get_task_from_id(parent_id) if parent_id is not None else None
    return untriggered(task) or (parent is not None and untriggered(parent))


def assert_in_step(engine) -> int:
    """Every running instance's rows are what its stored state implies; how many were checked."""
    checked = 0
    with engine.db.session() as session:
        running = list(session.scalars(select(m.ProcessInstance.id).where(m.ProcessInstance.state == "ACTIVE")))
        for instance_id in running:
            workflow = Runtime.load(engine.runtime_context, session, instance_id).workflow
            assert stored_rows(session, instance_id) == implied_rows(workflow)
            checked += 1
        for instance_id in session.scalars(select(m.ProcessInstance.id).where(m.ProcessInstance.state != "ACTIVE")):
            # An ended instance keeps its variables and history, closed, and nothing that waits.
            rows = stored_rows(session, instance_id)
            assert [rows[k] for k in ("user_tasks", "service_tasks", "timers", "subscriptions", "open_history")] \
                == [set(), set(), {}, set(), set()]
    return checked


def test_loops_parallel_branches_timers_and_a_subprocess(engine, clock):
    deploy(engine, "loop_parallel.bpmn")
    instance_id = engine.start_instance("engine_loop_parallel", {"again": True, "anotherRound": True})
    assert assert_in_step(engine) == 1
    for round_ in range(2):
        engine.complete_task(the_task(engine, instance_id, "Task_A").id, {"again": True, "round": round_})
        assert_in_step(engine)
        clock.advance(hours=1, minutes=1)
        assert engine.run_due_jobs() == 1  # the non-interrupting timer: a reminder, and A keeps waiting
        assert_in_step(engine)
        engine.complete_task(the_task(engine, instance_id, "Task_B").id)
        assert_in_step(engine)
        engine.complete_task(the_task(engine, instance_id, "Task_A").id, {"again": False})
        assert_in_step(engine)
        engine.complete_task(the_task(engine, instance_id, "Task_Remind").id)
        assert_in_step(engine)
        engine.complete_task(the_task(engine, instance_id, "Task_Sign").id, {"anotherRound": round_ == 0})
        assert_in_step(engine)
    assert engine.instance_variables(instance_id)["round"] == 1


def test_a_cycle_timer_moves_its_due_date(engine, clock):
    deploy(engine, "timer_boundary_cycle.bpmn")  # R3/PT10M, non-interrupting, on Task_Work
    instance_id = engine.start_instance("engine_timer_reminder", {})
    assert_in_step(engine)
    dues = []
    for _ in range(4):
        dues.append(sorted(j.due_at for j in jobs(engine, instance_id)))
        clock.advance(minutes=10)
        engine.run_due_jobs()
        assert_in_step(engine)
    assert dues[0] < dues[1] < dues[2] and dues[3] == []  # the cycle moved its due date, then ended
    for task in open_tasks(engine, instance_id):
        engine.complete_task(task.id)
        assert_in_step(engine)


def test_incidents_external_tasks_and_an_interrupting_message(engine, handlers, clock):
    def flaky(task):
        raise RuntimeError("down")

    handlers.register("engine.flaky", flaky)
    deploy(engine, "incident_interrupted.bpmn")
    instance_id = engine.start_instance("engine_incident_interrupted", {}, business_key="HS-9")
    assert_in_step(engine)
    for _ in range(3):
        clock.advance(minutes=1)
        engine.run_due_jobs()
        assert_in_step(engine)
    [remote] = engine.external_tasks.fetch_and_lock("w", 5, [{"topicName": "engine.remote", "lockDuration": 60000}])
    engine.external_tasks.complete(remote.id, "w", {"registered": True})
    assert_in_step(engine)
    engine.correlate_message("engine.give-up", business_key="HS-9", variables={"reason": "registry down"})
    assert_in_step(engine)
    engine.complete_task(the_task(engine, instance_id, "Task_ByHand").id, {"done": True})
    assert assert_in_step(engine) == 0


@pytest.fixture
def dossier_engine(database, clock, monkeypatch):
    import forms  # noqa: F401 - registers the declaration schemas
    import handlers  # noqa: F401 - registers the handlers the diagrams name
    from dossiers.service import install
    from engine.service import ProcessEngine

    monkeypatch.setenv("LIENTHONG_PRINTING", "off")
    monkeypatch.setenv("LIENTHONG_BHYT_CARD_DELAY_SECONDS", "0")
    clock.set(MONDAY_9AM)
    engine = ProcessEngine(database, clock=clock, worker_id="rows-test")
    install(engine)
    engine.deploy(workflow_files(), name="workflows")
    return engine


def test_a_birth_dossier_with_a_supplement_round(dossier_engine):
    from dossiers.service import DossierService, Upload
    from tests.birth_examples import birth_declaration

    engine = dossier_engine
    service = DossierService(engine)

    def run_jobs():
        while engine.run_due_jobs():
            assert_in_step(engine)

    def decide(group: str, decision: str) -> None:
        [task] = [t for t in engine_tasks(engine, group)]
        engine.complete_task(task.id, {"decision": decision, "note": "Thiếu giấy chứng sinh" if decision == "supplement" else ""})
        assert_in_step(engine)
        run_jobs()

    code = service.submit({"procedure": "birth", "declaration": birth_declaration()})["code"]
    assert_in_step(engine)
    run_jobs()
    decide("tu-phap-ho-tich", "supplement")
    service.supplement(code, "birth", [Upload("giay-chung-sinh", "gcs.pdf", "application/pdf", documents.pdf())], "Đã bổ sung")
    assert_in_step(engine)
    run_jobs()
    for group in ("tu-phap-ho-tich", "cong-an", "bhxh"):
        decide(group, "approve")
    assert service.status(code)["state"] == "completed"
    assert assert_in_step(engine) == 0


def engine_tasks(engine, group: str):
    from engine import queries

    with engine.db.reading() as session:
        return queries.tasks.list(session, candidate_group=group)
