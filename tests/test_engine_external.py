"""External tasks: fetch-and-lock, lock ownership and expiry, complete, failure with retries and
incidents, BPMN errors, extending and releasing locks (Camunda 7's external-task semantics).

Diagrams (tests/fixtures/engine/): external_worker.bpmn (Task_Register, topic engine.register,
worker=external, error boundary REG_REJECTED → Task_Rejected, else Task_Registered) and
topic_marked_external.bpmn (Task_Notify, topic engine.notify, worker=external).
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from engine import models as m
from engine.errors import EngineError, InvalidRequest, NotFound
from engine.external_tasks import LockLost
from tests.engine_helpers import activity, deploy, external_tasks, incidents, instance, open_task_ids, rows

REGISTER = {"topicName": "engine.register", "lockDuration": 60_000}


def start(engine, clock, *business_keys, **variables) -> list[str]:
    """One engine_external instance per business key, one minute apart (so fetch order is defined)."""
    deploy(engine, "external_worker.bpmn")
    ids = []
    for business_key in business_keys:
        ids.append(engine.start_instance("engine_external", dict(variables), business_key=business_key))
        clock.advance(minutes=1)
    return ids


def fetch(engine, worker="w1", max_tasks=10, *topics):
    return engine.external_tasks.fetch_and_lock(worker, max_tasks, list(topics) or [REGISTER])


# --- fetch and lock ----------------------------------------------------------------------------


def test_fetch_locks_only_the_requested_topics(engine, clock):
    [registering] = start(engine, clock, "HS-1", fee=50000)
    deploy(engine, "topic_marked_external.bpmn")
    notifying = engine.start_instance("engine_topic")

    [task] = fetch(engine, "w1")

    assert (task.topic, task.activity_id, task.instance_id, task.business_key) == (
        "engine.register", "Task_Register", registering, "HS-1")
    assert (task.worker_id, task.lock_expires_at, task.definition_key) == ("w1", clock.now() + timedelta(seconds=60), "engine_external")
    assert (task.retries, task.error_message) == (None, None)
    [other] = external_tasks(engine, notifying)
    assert (other.worker_id, other.lock_expires_at) == (None, None)
    [notify] = fetch(engine, "w2", 10, {"topicName": "engine.notify", "lockDuration": 1000})
    assert notify.instance_id == notifying


def test_fetch_respects_max_tasks_oldest_first(engine, clock):
    first, second, third = start(engine, clock, "HS-1", "HS-2", "HS-3")

    assert [t.instance_id for t in fetch(engine, "w1", 2)] == [first, second]
    assert [t.instance_id for t in fetch(engine, "w2", 5)] == [third]
    assert fetch(engine, "w3", 5) == []


def test_max_tasks_counts_across_topics(engine, clock):
    start(engine, clock, "HS-1", "HS-2")
    deploy(engine, "topic_marked_external.bpmn")
    engine.start_instance("engine_topic")

    locked = fetch(engine, "w1", 2, REGISTER, {"topicName": "engine.notify", "lockDuration": 1000})

    assert [t.topic for t in locked] == ["engine.register", "engine.register"]
    assert [t.topic for t in fetch(engine, "w1", 2, REGISTER, {"topicName": "engine.notify", "lockDuration": 1000})] == ["engine.notify"]


def test_fetch_filters_by_business_key_and_definition_key(engine, clock):
    first, second = start(engine, clock, "HS-1", "HS-2")

    assert [t.instance_id for t in fetch(engine, "w1", 5, {**REGISTER, "businessKey": "HS-2"})] == [second]
    assert fetch(engine, "w1", 5, {**REGISTER, "processDefinitionKey": "engine_topic"}) == []
    assert [t.instance_id for t in fetch(engine, "w1", 5, {**REGISTER, "processDefinitionKey": "engine_external"})] == [first]


def test_fetch_returns_variables_all_or_only_those_asked_for(engine, clock):
    first, second = start(engine, clock, "HS-1", "HS-2", applicant={"name": "An", "age": 30}, fee=50000, token="s3cr3t")

    [everything] = fetch(engine, "w1", 1, REGISTER)
    [some] = fetch(engine, "w2", 1, {**REGISTER, "variables": ["fee", "applicant", "missing"]})

    assert everything.variables == {"applicant": {"name": "An", "age": 30}, "fee": 50000, "token": "s3cr3t"}
    assert some.variables == {"applicant": {"name": "An", "age": 30}, "fee": 50000}


def test_fetch_needs_a_worker_id(engine, clock):
    start(engine, clock, "HS-1")

    with pytest.raises(InvalidRequest) as refused:
        fetch(engine, "")
    assert refused.value.field_errors == {"workerId": ["is required"]}


def test_a_locked_task_is_fetchable_again_only_after_its_lock_expires(engine, clock):
    [instance_id] = start(engine, clock, "HS-1")
    [locked] = fetch(engine, "w1")

    assert fetch(engine, "w2") == []
    clock.set(locked.lock_expires_at)
    assert fetch(engine, "w2") == []  # expires *after* lockExpirationTime
    clock.advance(milliseconds=1)
    [relocked] = fetch(engine, "w2")

    assert (relocked.id, relocked.worker_id) == (locked.id, "w2")
    with pytest.raises(LockLost, match="w1"):
        engine.external_tasks.complete(locked.id, "w1", {"registration": "late"})
    engine.external_tasks.complete(relocked.id, "w2", {"registration": "REG-2"})
    assert engine.instance_variables(instance_id)["registration"] == "REG-2"


def test_two_workers_fetching_at_once_never_get_the_same_task(engine, clock):
    start(engine, clock, "HS-1", "HS-2", "HS-3", "HS-4", "HS-5")
    barrier = threading.Barrier(2)
    got: dict[str, list] = {}

    def worker(name):
        barrier.wait()
        got[name] = [t.id for t in fetch(engine, name, 3)]

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(got["w1"]) + len(got["w2"]) == 5
    assert set(got["w1"]).isdisjoint(got["w2"])
    owners = {x.id: x.worker_id for x in rows(engine, m.ExternalTask)}
    assert owners == {task_id: name for name, ids in got.items() for task_id in ids}


# --- complete ----------------------------------------------------------------------------------


def test_only_the_lock_owner_can_complete(engine, clock):
    [instance_id] = start(engine, clock, "HS-1")
    [locked] = fetch(engine, "w1")

    with pytest.raises(LockLost):
        engine.external_tasks.complete(locked.id, "w2", {"registration": "forged"})
    with pytest.raises(NotFound):
        engine.external_tasks.complete("no-such-task", "w1")
    assert "registration" not in engine.instance_variables(instance_id)
    assert open_task_ids(engine, instance_id) == []


def test_complete_merges_variables_and_moves_on(engine, clock):
    [instance_id] = start(engine, clock, "HS-1", fee=50000)
    [locked] = fetch(engine, "w1")
    clock.advance(seconds=30)

    engine.external_tasks.complete(locked.id, "w1", {"registration": "REG-1", "fee": 40000}, {"note": "done"})

    assert engine.instance_variables(instance_id) == {"fee": 40000, "registration": "REG-1", "note": "done"}
    assert open_task_ids(engine, instance_id) == ["Task_Registered"]
    assert external_tasks(engine, instance_id) == []
    register = activity(engine, instance_id, "Task_Register")
    assert (register.activity_type, register.end_time, register.canceled) == ("serviceTask", clock.now(), False)
    with pytest.raises(NotFound):
        engine.external_tasks.complete(locked.id, "w1")


# --- failure -----------------------------------------------------------------------------------


def test_failure_with_retries_left_is_fetchable_again_after_the_retry_timeout(engine, clock):
    [instance_id] = start(engine, clock, "HS-1")
    [locked] = fetch(engine, "w1")

    engine.external_tasks.failure(locked.id, "w1", "registry busy", "Traceback ...", retries=2, retry_timeout=30_000)

    [row] = external_tasks(engine, instance_id)
    assert (row.retries, row.error_message, row.error_details, row.worker_id) == (2, "registry busy", "Traceback ...", None)
    assert incidents(engine, instance_id) == []
    assert fetch(engine, "w2") == []
    clock.advance(seconds=29)
    assert fetch(engine, "w2") == []
    clock.advance(seconds=1)
    [again] = fetch(engine, "w2")
    assert (again.id, again.retries, again.error_message, again.error_details) == (locked.id, 2, "registry busy", "Traceback ...")


def test_failure_with_no_retries_left_opens_an_incident(engine, clock):
    [instance_id] = start(engine, clock, "HS-1")
    [locked] = fetch(engine, "w1")

    engine.external_tasks.failure(locked.id, "w1", "registry gone", retries=0, retry_timeout=0)

    [incident] = incidents(engine, instance_id)
    assert (incident.type, incident.activity_id, incident.configuration, incident.message) == (
        "failedExternalTask", "Task_Register", locked.id, "registry gone")
    clock.advance(days=1)
    assert fetch(engine, "w2") == []
    assert instance(engine, instance_id).state == "ACTIVE"

    engine.external_tasks.set_retries(locked.id, 1)

    assert incidents(engine, instance_id) == []
    [again] = fetch(engine, "w2")
    assert (again.id, again.retries) == (locked.id, 1)


def test_setting_retries_to_zero_opens_an_incident(engine, clock):
    [instance_id] = start(engine, clock, "HS-1")
    [locked] = fetch(engine, "w1")

    engine.external_tasks.set_retries(locked.id, 0)

    assert fetch(engine, "w2") == []
    [incident] = incidents(engine, instance_id)
    assert (incident.type, incident.configuration) == ("failedExternalTask", locked.id)


def test_only_the_lock_owner_can_report_a_failure(engine, clock):
    [instance_id] = start(engine, clock, "HS-1")
    [locked] = fetch(engine, "w1")

    with pytest.raises(LockLost):
        engine.external_tasks.failure(locked.id, "w2", "not mine", retries=0)
    assert incidents(engine, instance_id) == []
    assert external_tasks(engine, instance_id)[0].worker_id == "w1"


# --- BPMN errors -------------------------------------------------------------------------------


def test_bpmn_error_takes_the_error_boundary(engine, clock):
    [instance_id] = start(engine, clock, "HS-1")
    [locked] = fetch(engine, "w1")

    engine.external_tasks.bpmn_error(locked.id, "w1", "REG_REJECTED", "already registered", {"reason": "duplicate"})

    assert open_task_ids(engine, instance_id) == ["Task_Rejected"]
    assert engine.instance_variables(instance_id)["reason"] == "duplicate"
    assert external_tasks(engine, instance_id) == []
    assert activity(engine, instance_id, "Task_Register").canceled is True
    assert activity(engine, instance_id, "Boundary_RegistrationRejected").activity_type == "boundaryError"


def test_bpmn_error_needs_a_code_and_the_lock(engine, clock):
    [instance_id] = start(engine, clock, "HS-1")
    [locked] = fetch(engine, "w1")

    with pytest.raises(InvalidRequest) as refused:
        engine.external_tasks.bpmn_error(locked.id, "w1", "")
    assert refused.value.field_errors == {"errorCode": ["is required"]}
    with pytest.raises(LockLost):
        engine.external_tasks.bpmn_error(locked.id, "w2", "REG_REJECTED")
    assert open_task_ids(engine, instance_id) == []


def test_an_uncaught_bpmn_error_is_refused_and_changes_nothing(engine, clock):
    [instance_id] = start(engine, clock, "HS-1")
    [locked] = fetch(engine, "w1")

    with pytest.raises(EngineError, match="OTHER_CODE.*not caught"):
        engine.external_tasks.bpmn_error(locked.id, "w1", "OTHER_CODE", "nobody catches this", {"leak": True})

    assert "leak" not in engine.instance_variables(instance_id)
    assert [x.worker_id for x in external_tasks(engine, instance_id)] == ["w1"]
    assert activity(engine, instance_id, "Task_Register").end_time is None


# --- extend and release locks ------------------------------------------------------------------


def test_extend_lock_keeps_the_task_away_from_other_workers(engine, clock):
    [instance_id] = start(engine, clock, "HS-1")
    [locked] = fetch(engine, "w1")

    engine.external_tasks.extend_lock(locked.id, "w1", 300_000)

    assert external_tasks(engine, instance_id)[0].lock_expires_at == clock.now() + timedelta(minutes=5)
    clock.advance(minutes=2)  # past the first lock, inside the extension
    assert fetch(engine, "w2") == []
    with pytest.raises(LockLost):
        engine.external_tasks.extend_lock(locked.id, "w2", 300_000)
    engine.external_tasks.complete(locked.id, "w1", {"registration": "REG-1"})
    assert open_task_ids(engine, instance_id) == ["Task_Registered"]


def test_an_expired_lock_cannot_be_extended(engine, clock):
    start(engine, clock, "HS-1")
    [locked] = fetch(engine, "w1")
    clock.advance(minutes=2)

    with pytest.raises(LockLost, match="expired"):
        engine.external_tasks.extend_lock(locked.id, "w1", 60_000)


def test_unlock_makes_the_task_fetchable_at_once(engine, clock):
    [instance_id] = start(engine, clock, "HS-1")
    [locked] = fetch(engine, "w1")

    engine.external_tasks.unlock(locked.id)

    [row] = external_tasks(engine, instance_id)
    assert (row.worker_id, row.lock_expires_at) == (None, None)
    with pytest.raises(LockLost):
        engine.external_tasks.complete(locked.id, "w1")
    [relocked] = fetch(engine, "w2")
    assert relocked.id == locked.id
    with pytest.raises(NotFound):
        engine.external_tasks.unlock("no-such-task")
