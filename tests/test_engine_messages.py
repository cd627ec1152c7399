"""Messages: correlation to receive tasks, catch events and boundary events (by business key,
instance id or correlation keys), message start events, and cancelling an instance.

Diagrams (tests/fixtures/engine/): message_receive.bpmn (receive task engine.paid → Task_After),
message_catch.bpmn (catch event engine.docs → Task_After), message_boundary.bpmn (Task_Work with an
interrupting boundary engine.withdrawn → Task_Withdrawn), message_start.bpmn (start by engine.apply →
Task_Intake), cancel_everything.bpmn (a user task with a boundary timer, a receive task, a remote
and an in-process service task, in parallel).
"""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from engine import models as m
from engine.errors import ConcurrentModification, EngineError, InvalidRequest
from engine.service import CorrelationResult
from tests.engine_helpers import (
    activity,
    count,
    definition_id,
    deploy,
    external_tasks,
    fixture,
    history,
    incidents,
    instance,
    jobs,
    open_task_ids,
    rows,
    subscriptions,
    the_task,
    user_operations,
)


def started(engine, fixture_name: str, key: str, *business_keys: str, **variables) -> list[str]:
    deploy(engine, fixture_name)
    return [engine.start_instance(key, dict(variables), business_key=bk) for bk in business_keys]


def waiting_for(engine, instance_id) -> list[tuple[str, str]]:
    return [(s.event_name, s.activity_id) for s in subscriptions(engine, instance_id)]


# --- correlation -------------------------------------------------------------------------------


def test_receive_task_correlated_by_business_key(engine, clock):
    first, second = started(engine, "message_receive.bpmn", "engine_receive", "HS-1", "HS-2", fee=50000)
    assert waiting_for(engine, first) == waiting_for(engine, second) == [("engine.paid", "Task_WaitPayment")]
    clock.advance(minutes=5)

    results = engine.correlate_message("engine.paid", business_key="HS-2", variables={"paid": True, "fee": 45000})

    assert results == [CorrelationResult("Execution", second, "HS-2", instance(engine, second).definition_id)]
    assert open_task_ids(engine, second) == ["Task_After"]
    assert engine.instance_variables(second) == {"fee": 45000, "paid": True}
    assert waiting_for(engine, second) == []
    receive = activity(engine, second, "Task_WaitPayment")
    assert (receive.activity_type, receive.end_time, receive.canceled) == ("receiveTask", clock.now(), False)
    # The other instance still waits, untouched.
    assert open_task_ids(engine, first) == []
    assert waiting_for(engine, first) == [("engine.paid", "Task_WaitPayment")]
    assert engine.instance_variables(first) == {"fee": 50000}
    # Once received, the same message finds nobody waiting under that business key.
    with pytest.raises(InvalidRequest, match="engine.paid"):
        engine.correlate_message("engine.paid", business_key="HS-2")


def test_catch_event_correlated_by_process_instance_id(engine):
    first, second = started(engine, "message_catch.bpmn", "engine_catch", "SAME", "SAME")

    results = engine.correlate_message("engine.docs", process_instance_id=first, variables={"pages": 12})

    assert [(r.result_type, r.instance_id) for r in results] == [("Execution", first)]
    assert open_task_ids(engine, first) == ["Task_After"]
    assert engine.instance_variables(first)["pages"] == 12
    assert activity(engine, first, "Event_Docs").activity_type == "intermediateMessageCatch"
    assert open_task_ids(engine, second) == []
    assert waiting_for(engine, second) == [("engine.docs", "Event_Docs")]


def test_boundary_message_correlated_by_correlation_keys(engine, clock):
    deploy(engine, "message_boundary.bpmn")
    one = engine.start_instance("engine_withdrawable", {"caseNo": "HS-1", "year": 2026, "applicant": {"id": 7, "name": "An"}})
    two = engine.start_instance("engine_withdrawable", {"caseNo": "HS-2", "year": 2026, "applicant": {"id": 8, "name": "Binh"}})
    work_id = the_task(engine, two, "Task_Work").id
    assert waiting_for(engine, two) == [("engine.withdrawn", "Boundary_Withdrawn")]

    results = engine.correlate_message("engine.withdrawn", correlation_keys={"caseNo": "HS-2", "year": 2026},
                                       variables={"withdrawnBy": "citizen"})

    assert [r.instance_id for r in results] == [two]
    assert open_task_ids(engine, two) == ["Task_Withdrawn"]
    assert engine.instance_variables(two)["withdrawnBy"] == "citizen"
    work = activity(engine, two, "Task_Work")
    assert (work.canceled, work.end_time) == (True, clock.now())
    assert activity(engine, two, "Boundary_Withdrawn").activity_type == "boundaryMessage"
    with pytest.raises(ConcurrentModification):
        engine.complete_task(work_id)
    assert open_task_ids(engine, one) == ["Task_Work"]


@pytest.mark.parametrize("keys", [
    {"caseNo": "HS-3"},  # no such value
    {"year": "2026"},  # a string is not the number 2026
    {"caseNo": "HS-1", "year": 2025},  # every key must match
])
def test_correlation_keys_that_match_no_instance_are_refused(engine, keys):
    deploy(engine, "message_boundary.bpmn")
    one = engine.start_instance("engine_withdrawable", {"caseNo": "HS-1", "year": 2026})

    with pytest.raises(InvalidRequest, match="engine.withdrawn"):
        engine.correlate_message("engine.withdrawn", correlation_keys=keys)
    assert open_task_ids(engine, one) == ["Task_Work"]


def test_correlation_keys_compare_json_values(engine):
    deploy(engine, "message_boundary.bpmn")
    one = engine.start_instance("engine_withdrawable", {"applicant": {"id": 7, "name": "An"}})

    [result] = engine.correlate_message("engine.withdrawn", correlation_keys={"applicant": {"name": "An", "id": 7}})

    assert result.instance_id == one


def test_a_message_nobody_waits_for_is_refused_with_its_name(engine):
    [waiting] = started(engine, "message_receive.bpmn", "engine_receive", "HS-1")

    for kwargs in ({}, {"business_key": "HS-404"}, {"process_instance_id": "no-such-instance"}):
        with pytest.raises(InvalidRequest, match="'engine.nothing'"):
            engine.correlate_message("engine.nothing", **kwargs)
    with pytest.raises(InvalidRequest, match="'engine.paid'"):
        engine.correlate_message("engine.paid", business_key="HS-404")
    with pytest.raises(InvalidRequest) as unnamed:
        engine.correlate_message("")
    assert unnamed.value.field_errors == {"messageName": ["is required"]}
    assert waiting_for(engine, waiting) == [("engine.paid", "Task_WaitPayment")]
    assert count(engine, m.ProcessInstance) == 1


def test_two_waiting_instances_need_all_to_receive_one_message(engine):
    first, second = started(engine, "message_receive.bpmn", "engine_receive", "HS-1", "HS-1")

    with pytest.raises(InvalidRequest, match="2 executions match"):
        engine.correlate_message("engine.paid", business_key="HS-1")
    assert open_task_ids(engine, first) == open_task_ids(engine, second) == []

    results = engine.correlate_message("engine.paid", business_key="HS-1", variables={"batch": "B-1"}, all=True)

    assert sorted(r.instance_id for r in results) == sorted([first, second])
    assert {r.result_type for r in results} == {"Execution"}
    for instance_id in (first, second):
        assert open_task_ids(engine, instance_id) == ["Task_After"]
        assert engine.instance_variables(instance_id) == {"batch": "B-1"}


def test_event_based_gateway_takes_the_message_path(engine):
    [waiting] = started(engine, "event_gateway.bpmn", "engine_event_gateway", "HS-1")
    assert waiting_for(engine, waiting) == [("engine.gateway.paid", "Gateway_Wait")]

    engine.correlate_message("engine.gateway.paid", business_key="HS-1")

    assert open_task_ids(engine, waiting) == ["Task_Paid"]
    assert jobs(engine, waiting) == []


def test_event_based_gateway_takes_the_timer_path(engine, clock):
    [waiting] = started(engine, "event_gateway.bpmn", "engine_event_gateway", "HS-1")
    [job] = jobs(engine, waiting)
    assert job.due_at == clock.now() + timedelta(hours=24)

    clock.advance(hours=24)
    assert engine.run_due_jobs() == 1

    assert open_task_ids(engine, waiting) == ["Task_Expired"]
    assert waiting_for(engine, waiting) == []


# --- message start -----------------------------------------------------------------------------


def test_a_message_start_event_starts_an_instance_with_the_business_key(engine, clock):
    result = deploy(engine, "message_start.bpmn")

    [correlated] = engine.correlate_message("engine.apply", business_key="HS-9", variables={"applicant": "An"})

    assert correlated.result_type == "ProcessDefinition"
    assert (correlated.business_key, correlated.definition_id) == ("HS-9", definition_id(result, "engine_message_start"))
    row = instance(engine, correlated.instance_id)
    assert (row.business_key, row.state, row.start_time) == ("HS-9", "ACTIVE", clock.now())
    assert open_task_ids(engine, correlated.instance_id) == ["Task_Intake"]
    assert engine.instance_variables(correlated.instance_id) == {"applicant": "An"}
    assert [(a.activity_id, a.activity_type) for a in history(engine, correlated.instance_id)] == [
        ("Start_Apply", "messageStartEvent"), ("Task_Intake", "userTask")]
    # Each message starts another instance.
    [again] = engine.correlate_message("engine.apply", business_key="HS-10")
    assert again.instance_id != correlated.instance_id
    assert count(engine, m.ProcessInstance) == 2


def test_a_process_with_only_a_message_start_cannot_be_started_by_key(engine):
    deploy(engine, "message_start.bpmn")

    with pytest.raises(InvalidRequest, match="message"):
        engine.start_instance("engine_message_start")
    assert count(engine, m.ProcessInstance) == 0


def test_the_message_start_moves_to_the_latest_version(engine):
    engine.deploy({"start.bpmn": fixture("message_start.bpmn")})
    v2 = engine.deploy({"start.bpmn": fixture("message_start.bpmn").replace(b'name="Intake"', b'name="Intake v2"')})

    [correlated] = engine.correlate_message("engine.apply", business_key="HS-11")

    assert correlated.definition_id == definition_id(v2, "engine_message_start")
    assert the_task(engine, correlated.instance_id, "Task_Intake").name == "Intake v2"
    starts = rows(engine, m.EventSubscription, m.EventSubscription.definition_id.is_not(None))
    assert [(s.event_name, s.definition_id) for s in starts] == [("engine.apply", correlated.definition_id)]


# --- cancel --------------------------------------------------------------------------------------


@pytest.fixture
def everything_waits(engine, handlers):
    handlers.register("engine.cancel.notify", lambda task: {"notified": True})
    deploy(engine, "cancel_everything.bpmn")
    instance_id = engine.start_instance("engine_cancel", {"caseNo": "HS-5"}, business_key="HS-5")
    assert open_task_ids(engine, instance_id) == ["Task_Review"]
    assert sorted((j.type, j.activity_id) for j in jobs(engine, instance_id)) == [
        ("service-task", "Task_Notify"), ("timer", "Boundary_Late")]
    assert [x.activity_id for x in external_tasks(engine, instance_id)] == ["Task_Register"]
    assert waiting_for(engine, instance_id) == [("engine.cancel.paid", "Task_WaitPayment")]
    return instance_id


def test_cancel_instance_removes_everything_that_waits_and_closes_history(engine, clock, everything_waits):
    instance_id = everything_waits
    clock.advance(minutes=30)

    engine.cancel_instance(instance_id, reason="withdrawn by the citizen", actor="clerk")

    row = instance(engine, instance_id)
    assert (row.state, row.delete_reason, row.end_time, row.workflow) == (
        "EXTERNALLY_TERMINATED", "withdrawn by the citizen", clock.now(), None)
    for model in (m.Task, m.Job, m.ExternalTask, m.EventSubscription, m.Incident):
        assert count(engine, model, model.instance_id == instance_id) == 0, model.__name__
    assert count(engine, m.IdentityLink) == 0
    closed = {a.activity_id: a for a in history(engine, instance_id)}
    assert [a for a, row in closed.items() if row.end_time is None] == []
    for waiting in ("Task_Review", "Task_WaitPayment", "Task_Register", "Task_Notify"):
        assert (closed[waiting].canceled, closed[waiting].end_time) == (True, clock.now()), waiting
    assert "Boundary_Late" not in closed, "a boundary timer that never fired is no activity instance (Camunda)"
    assert closed["Start_Cancel"].canceled is False
    [delete] = [o for o in user_operations(engine, instance_id) if o.operation_type == "Delete"]
    assert (delete.entity_type, delete.user_id, delete.details) == ("ProcessInstance", "clerk", {"reason": "withdrawn by the citizen"})


def test_a_cancelled_instance_can_no_longer_be_reached(engine, clock, handlers, everything_waits):
    instance_id = everything_waits
    review_id = the_task(engine, instance_id, "Task_Review").id

    engine.cancel_instance(instance_id)

    clock.advance(hours=2)
    assert engine.run_due_jobs() == 0  # neither the timer nor the handler job
    with pytest.raises(ConcurrentModification, match="already cancelled"):
        engine.complete_task(review_id)
    with pytest.raises(InvalidRequest):
        engine.correlate_message("engine.cancel.paid", business_key="HS-5")
    assert engine.external_tasks.fetch_and_lock("w", 5, [{"topicName": "engine.cancel.register", "lockDuration": 1000}]) == []
    with pytest.raises(EngineError, match="has ended"):
        engine.cancel_instance(instance_id)
    assert instance(engine, instance_id).state == "EXTERNALLY_TERMINATED"


def test_cancel_removes_open_incidents(engine, handlers, clock):
    def failing(task):
        raise RuntimeError("down")

    handlers.register("engine.flaky", failing)
    deploy(engine, "service_default_retry.bpmn")
    instance_id = engine.start_instance("engine_service_default")
    for _ in range(3):
        clock.advance(minutes=5)
        engine.run_due_jobs()
    assert len(incidents(engine, instance_id)) == 1

    engine.cancel_instance(instance_id, reason="gave up")

    assert incidents(engine, instance_id) == []
    assert jobs(engine, instance_id) == []
    flaky = activity(engine, instance_id, "Task_Flaky")
    assert (flaky.canceled, flaky.end_time is not None) == (True, True)


def test_a_long_incompressible_value_is_stored_and_correlates(engine):
    # PostgreSQL refuses an index row past ~2.7 kB: with the old (name, value_json) index this start
    # failed outright. The index is on (name, md5 of the value) now; the text is still compared.
    deploy(engine, "message_boundary.bpmn")
    blob = "".join(hashlib.sha256(str(n).encode()).hexdigest() for n in range(200))  # 12.8 kB, random-looking
    one = engine.start_instance("engine_withdrawable", {"scan": blob})
    two = engine.start_instance("engine_withdrawable", {"scan": blob[:-1] + "x"})

    [result] = engine.correlate_message("engine.withdrawn", correlation_keys={"scan": blob})

    assert result.instance_id == one
    assert open_task_ids(engine, two) == ["Task_Work"]
