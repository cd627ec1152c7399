"""Jobs: in-process handlers (context, results, retries, incidents, BPMN errors), several workers
sharing the jobs, and timers (catch events, boundary events, timer start events).

Time is the `clock` fixture (a ManualClock starting 2026-11-23T01:00Z): nothing is due until the
test moves it, and nothing fires until the test calls run_due_jobs().

Diagrams (tests/fixtures/engine/): service_handler.bpmn (Task_Call, topic engine.call, properties
agency/channel, retry cycle R2/PT5M, error boundary CALL_REJECTED → Task_HandleRejection, else
Task_Done), service_default_retry.bpmn (Task_Flaky, topic engine.flaky, no cycle, no boundary →
Task_After), subprocess_error.bpmn, timer_*.bpmn (see tests/fixtures/engine/README.md).
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from engine import models as m
from engine.errors import ConcurrentModification, InvalidRequest, NotFound
from engine.handler_registry import BpmnError
from engine.service import ProcessEngine
from tests.engine_helpers import (
    activity,
    count,
    deploy,
    fixture,
    history,
    incidents,
    instance,
    jobs,
    open_task_ids,
    open_tasks,
    rows,
    the_task,
    user_operations,
)


class Handler:
    """A handler that records every call and fails while `failures` is not empty."""

    def __init__(self, result=None):
        self.calls = []
        self.failures: list[Exception] = []
        self.result = result if result is not None else {}

    def __call__(self, task):
        self.calls.append(task)
        if self.failures:
            raise self.failures.pop(0)
        return self.result


@pytest.fixture
def call(handlers):
    handler = Handler({"registryId": "R-1", "status": "registered"})
    handlers.register("engine.call", handler)
    return handler


@pytest.fixture
def flaky(handlers):
    handler = Handler()
    handlers.register("engine.flaky", handler)
    return handler


def start_service(engine, **variables) -> str:
    deploy(engine, "service_handler.bpmn")
    return engine.start_instance("engine_service", variables, business_key="HS-7")


def start_flaky(engine) -> str:
    deploy(engine, "service_default_retry.bpmn")
    return engine.start_instance("engine_service_default", {"attemptsAllowed": 3})


# --- handlers ----------------------------------------------------------------------------------


def test_handler_gets_its_context_and_its_result_merges_into_the_variables(engine, call, clock):
    instance_id = start_service(engine, citizen={"name": "An", "age": 30}, status="new")
    [job] = jobs(engine, instance_id)
    assert (job.type, job.topic, job.activity_id, job.retries, job.due_at) == ("service-task", "engine.call", "Task_Call", 2, clock.now())
    assert call.calls == []  # nothing runs inside the request that started the instance

    assert engine.run_due_jobs() == 1

    [task] = call.calls
    assert dict(task.variables) == {"citizen": {"name": "An", "age": 30}, "status": "new"}
    assert dict(task.properties) == {"agency": "tu-phap", "channel": "lgsp"}
    assert (task.topic, task.business_key, task.activity_id, task.definition_key, task.instance_id) == (
        "engine.call", "HS-7", "Task_Call", "engine_service", instance_id)
    assert (task.idempotency_key, task.attempt) == (job.id, 1)
    variables = engine.instance_variables(instance_id)
    assert variables == {"citizen": {"name": "An", "age": 30}, "status": "registered", "registryId": "R-1"}
    assert open_task_ids(engine, instance_id) == ["Task_Done"]
    assert jobs(engine, instance_id) == []
    assert activity(engine, instance_id, "Task_Call").end_time == clock.now()
    assert activity(engine, instance_id, "Task_Call").activity_type == "serviceTask"


def test_run_due_jobs_without_due_jobs_does_nothing(engine, call):
    assert engine.run_due_jobs() == 0
    instance_id = start_service(engine)
    assert engine.run_due_jobs() == 1
    assert engine.run_due_jobs() == 0
    assert len(call.calls) == 1
    assert open_task_ids(engine, instance_id) == ["Task_Done"]


def test_a_failing_handler_is_retried_per_its_cycle_then_becomes_an_incident(engine, call, clock):
    call.failures = [RuntimeError("registry down"), RuntimeError("registry still down")]
    instance_id = start_service(engine)
    t0 = clock.now()

    assert engine.run_due_jobs() == 1
    [job] = jobs(engine, instance_id)
    assert (job.retries, job.attempt, job.exception_message) == (1, 1, "registry down")
    assert job.due_at == t0 + timedelta(minutes=5)  # R2/PT5M
    assert job.lock_owner is None
    assert incidents(engine, instance_id) == []

    clock.advance(minutes=4, seconds=59)
    assert engine.run_due_jobs() == 0  # not due yet
    clock.advance(seconds=1)
    assert engine.run_due_jobs() == 1

    [job] = jobs(engine, instance_id)
    assert (job.retries, job.attempt, job.exception_message) == (0, 2, "registry still down")
    assert "RuntimeError: registry still down" in job.exception_stacktrace
    [incident] = incidents(engine, instance_id)
    assert (incident.type, incident.activity_id, incident.configuration, incident.message) == (
        "failedJob", "Task_Call", job.id, "registry still down")
    # Both tries carried the same idempotency key.
    assert [(c.idempotency_key, c.attempt) for c in call.calls] == [(job.id, 1), (job.id, 2)]
    # No more tries, however long we wait; the instance waits at the service task.
    clock.advance(days=30)
    assert engine.run_due_jobs() == 0
    assert instance(engine, instance_id).state == "ACTIVE"
    assert activity(engine, instance_id, "Task_Call").end_time is None


def test_default_retries_are_three_tries_with_exponential_back_off(engine, flaky, clock):
    flaky.failures = [ConnectionError("timeout 1"), ConnectionError("timeout 2"), ConnectionError("timeout 3")]
    instance_id = start_flaky(engine)
    [job] = jobs(engine, instance_id)
    assert job.retries == 3

    delays = []
    for expected_retries in (2, 1):
        failed_at = clock.now()
        assert engine.run_due_jobs() == 1
        [job] = jobs(engine, instance_id)
        assert job.retries == expected_retries
        delays.append(job.due_at - failed_at)
        clock.set(job.due_at - timedelta(seconds=1))
        assert engine.run_due_jobs() == 0
        clock.set(job.due_at)
    assert delays == [timedelta(seconds=10), timedelta(seconds=20)]

    assert engine.run_due_jobs() == 1
    [job] = jobs(engine, instance_id)
    assert (job.retries, job.attempt, job.exception_message) == (0, 3, "timeout 3")
    assert [i.message for i in incidents(engine, instance_id)] == ["timeout 3"]
    assert len(flaky.calls) == 3
    assert len({c.idempotency_key for c in flaky.calls}) == 1


def test_set_job_retries_resolves_the_incident_and_the_fixed_handler_moves_on(engine, flaky, clock):
    flaky.failures = [RuntimeError("down")] * 3
    instance_id = start_flaky(engine)
    for _ in range(3):
        clock.advance(minutes=1)
        engine.run_due_jobs()
    [job] = jobs(engine, instance_id)
    assert job.retries == 0 and len(incidents(engine, instance_id)) == 1
    flaky.result = {"answer": 42}  # the handler is fixed meanwhile (failures are used up)

    engine.set_job_retries(job.id, 1)

    assert incidents(engine, instance_id) == []
    [job] = jobs(engine, instance_id)
    assert (job.retries, job.due_at) == (1, clock.now())
    assert engine.run_due_jobs() == 1
    assert flaky.calls[-1].attempt == 4
    assert engine.instance_variables(instance_id)["answer"] == 42
    assert open_task_ids(engine, instance_id) == ["Task_After"]
    assert jobs(engine, instance_id) == []
    assert [(o.operation_type, o.details["retries"]) for o in user_operations(engine, instance_id)
            if o.entity_type == "Job"] == [("SetJobRetries", 1)]


def test_set_job_retries_refuses_bad_input(engine, flaky):
    instance_id = start_flaky(engine)
    [job] = jobs(engine, instance_id)

    with pytest.raises(InvalidRequest):
        engine.set_job_retries(job.id, -1)
    with pytest.raises(InvalidRequest):
        engine.set_job_retries(job.id, True)
    with pytest.raises(NotFound):
        engine.set_job_retries("no-such-job", 1)


def test_set_job_retries_to_zero_stops_the_job(engine, flaky):
    instance_id = start_flaky(engine)
    [job] = jobs(engine, instance_id)

    engine.set_job_retries(job.id, 0)

    assert engine.run_due_jobs() == 0
    assert flaky.calls == []
    assert jobs(engine, instance_id)[0].retries == 0


def test_set_job_retries_to_zero_opens_an_incident(engine, flaky):
    # As Camunda's JobEntity.setRetries(0): the stall must show in the incident list.
    instance_id = start_flaky(engine)
    [job] = jobs(engine, instance_id)

    engine.set_job_retries(job.id, 0)

    [incident] = incidents(engine, instance_id)
    assert (incident.type, incident.configuration) == ("failedJob", job.id)


# --- several workers -----------------------------------------------------------------------------


def other_worker(engine, name) -> ProcessEngine:
    """Another worker process on the same database (its own worker id, same handlers and clock)."""
    return ProcessEngine(engine.db, handlers=engine.handlers, clock=engine.clock, worker_id=name)


def test_two_workers_run_each_due_job_exactly_once(engine, flaky):
    deploy(engine, "service_default_retry.bpmn")
    instance_ids = [engine.start_instance("engine_service_default") for _ in range(6)]
    workers = [other_worker(engine, "worker-a"), other_worker(engine, "worker-b")]
    barrier = threading.Barrier(2)
    ran = {}

    def work(worker):
        barrier.wait()
        ran[worker.worker_id] = worker.run_due_jobs(limit=4)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(ran.values()) == 6
    assert sorted(c.instance_id for c in flaky.calls) == sorted(instance_ids)
    for instance_id in instance_ids:
        assert open_task_ids(engine, instance_id) == ["Task_After"]


def test_a_job_whose_lock_expired_is_taken_by_another_worker_and_the_late_result_is_dropped(engine, flaky, clock):
    instance_id = start_flaky(engine)
    slow, fast = other_worker(engine, "slow"), other_worker(engine, "fast")
    [taken] = slow.jobs.claim(1)
    clock.advance(slow.jobs.lock_duration + timedelta(seconds=1))  # the slow worker looks dead
    [retaken] = fast.jobs.claim(1)
    assert retaken.id == taken.id

    assert fast.jobs.execute(retaken) == "completed"
    assert slow.jobs.execute(taken) == "stale"

    assert len(flaky.calls) == 2  # at least once: both ran the handler
    assert open_task_ids(engine, instance_id) == ["Task_After"]
    assert [a.activity_id for a in history(engine, instance_id)].count("Task_After") == 1


def test_a_late_failure_from_a_worker_that_lost_its_lock_does_not_undo_the_new_owner(engine, flaky, clock):
    instance_id = start_flaky(engine)
    slow, fast = other_worker(engine, "slow"), other_worker(engine, "fast")
    [taken] = slow.jobs.claim(1)
    clock.advance(slow.jobs.lock_duration + timedelta(seconds=1))
    [retaken] = fast.jobs.claim(1)
    flaky.failures = [TimeoutError("the slow worker's call timed out")]  # the first execute below fails

    slow.jobs.execute(taken)
    outcome = fast.jobs.execute(retaken)

    assert outcome == "completed"
    assert open_task_ids(engine, instance_id) == ["Task_After"]
    assert jobs(engine, instance_id) == []


# --- timer start events ------------------------------------------------------------------------


def test_a_timer_start_event_starts_an_instance_at_each_firing(engine, clock):
    t0 = clock.now()
    deploy(engine, "timer_start.bpmn")
    with pytest.raises(InvalidRequest):
        engine.start_instance("engine_timer_start")  # it has no none start event

    for firing in (1, 2):
        [job] = rows(engine, m.Job, m.Job.definition_key == "engine_timer_start")
        assert (job.type, job.instance_id, job.due_at) == ("timer-start", None, t0 + timedelta(hours=firing))
        clock.set(job.due_at - timedelta(seconds=1))
        assert engine.run_due_jobs() == 0
        clock.set(job.due_at)
        assert engine.run_due_jobs() == 1
        assert count(engine, m.ProcessInstance) == firing

    assert rows(engine, m.Job, m.Job.definition_key == "engine_timer_start") == []  # R2: done
    started = rows(engine, m.ProcessInstance, order_by=m.ProcessInstance.start_time)
    assert [i.start_time for i in started] == [t0 + timedelta(hours=1), t0 + timedelta(hours=2)]
    for row in started:
        assert open_task_ids(engine, row.id) == ["Task_Check"]
        assert history(engine, row.id)[0].activity_type == "startTimerEvent"


def test_a_new_version_replaces_the_timer_start_schedule(engine, clock):
    engine.deploy({"start.bpmn": fixture("timer_start.bpmn")})
    clock.advance(minutes=30)
    v2 = engine.deploy({"start.bpmn": fixture("timer_start.bpmn").replace(b"R2/PT1H", b"R1/PT2H")})

    [job] = rows(engine, m.Job, m.Job.type == "timer-start")
    assert (job.definition_id, job.due_at) == (v2.definitions[0].id, clock.now() + timedelta(hours=2))


def test_a_timer_start_that_cannot_run_ends_in_an_incident(engine, clock):
    deploy(engine, "timer_start_failing.bpmn")  # its user task's assignee ${owner} has no variable to read
    [job] = rows(engine, m.Job, m.Job.type == "timer-start")

    for _ in range(3):
        clock.advance(hours=1)
        engine.run_due_jobs()

    [job] = rows(engine, m.Job, m.Job.type == "timer-start")
    assert job.retries == 0
    assert "Unknown variable 'owner'" in job.exception_message
    [incident] = rows(engine, m.Incident)
    assert incident.configuration == job.id
    assert count(engine, m.ProcessInstance) == 0


def test_a_handler_that_returns_no_dict_is_a_failure(engine, flaky):
    flaky.result = ["not", "a", "dict"]
    instance_id = start_flaky(engine)

    engine.run_due_jobs()

    [job] = jobs(engine, instance_id)
    assert job.retries == 2
    assert "returned list; it must return a dict" in job.exception_message
    assert open_task_ids(engine, instance_id) == []


def test_a_handler_returning_none_completes_the_task(engine, flaky):
    flaky.result = None  # the handler returns None: no variables to merge
    instance_id = start_flaky(engine)

    engine.run_due_jobs()

    assert open_task_ids(engine, instance_id) == ["Task_After"]
    assert engine.instance_variables(instance_id) == {"attemptsAllowed": 3}


def test_a_list_of_retry_intervals_sets_each_back_off(engine, flaky, clock):
    flaky.failures = [RuntimeError("down")] * 2
    deploy(engine, "service_retry_intervals.bpmn")
    instance_id = engine.start_instance("engine_retry_list")

    waits = []
    for _ in range(2):
        failed_at = clock.now()
        assert engine.run_due_jobs() == 1
        [job] = jobs(engine, instance_id)
        waits.append(job.due_at - failed_at)
        clock.set(job.due_at)
    assert waits == [timedelta(minutes=1), timedelta(minutes=5)]


# --- BPMN errors -------------------------------------------------------------------------------


def test_a_bpmn_error_takes_the_boundary_that_catches_its_code(engine, call, clock):
    call.failures = [BpmnError("CALL_REJECTED", "duplicate registration", {"reason": "duplicate"})]
    instance_id = start_service(engine)

    assert engine.run_due_jobs() == 1

    assert open_task_ids(engine, instance_id) == ["Task_HandleRejection"]
    assert engine.instance_variables(instance_id)["reason"] == "duplicate"
    assert "registryId" not in engine.instance_variables(instance_id)
    assert jobs(engine, instance_id) == [] and incidents(engine, instance_id) == []
    call_row = activity(engine, instance_id, "Task_Call")
    assert (call_row.canceled, call_row.end_time) == (True, clock.now())
    assert activity(engine, instance_id, "Boundary_CallRejected").activity_type == "boundaryError"
    assert len(call.calls) == 1  # a business error is not retried


def test_a_caught_bpmn_error_fills_the_variables_its_boundary_names(engine, call):
    call.failures = [BpmnError("CALL_REJECTED", "duplicate registration")]
    instance_id = start_service(engine, errorCode="E-17")  # a business variable of the process

    engine.run_due_jobs()

    variables = engine.instance_variables(instance_id)
    assert (variables.get("rejectionCode"), variables.get("rejectionMessage")) == ("CALL_REJECTED", "duplicate registration")
    assert variables["errorCode"] == "E-17"


def test_a_catch_all_error_boundary_on_a_subprocess_catches_an_error_from_inside(engine, handlers, clock):
    verify = Handler()
    verify.failures = [BpmnError("DOCS_INVALID", "blurry scan")]
    handlers.register("engine.verify", verify)
    deploy(engine, "subprocess_error.bpmn")
    instance_id = engine.start_instance("engine_subprocess_error")

    assert engine.run_due_jobs() == 1

    assert open_task_ids(engine, instance_id) == ["Task_Fix"]
    assert incidents(engine, instance_id) == [] and jobs(engine, instance_id) == []
    assert activity(engine, instance_id, "Sub_Check").canceled is True
    assert activity(engine, instance_id, "Task_Verify").canceled is True
    assert activity(engine, instance_id, "Boundary_AnyError").end_time == clock.now()


@pytest.mark.parametrize("start, topic, code", [
    (start_service, "engine.call", "SOMETHING_ELSE"),  # a boundary exists, for another code
    (start_flaky, "engine.flaky", "ANY_CODE"),  # no boundary at all
])
def test_an_uncaught_bpmn_error_is_an_incident_at_once(engine, handlers, start, topic, code):
    handler = Handler()
    handler.failures = [BpmnError(code, "not for us")]
    handlers.register(topic, handler)
    instance_id = start(engine)

    assert engine.run_due_jobs() == 1

    [job] = jobs(engine, instance_id)
    assert job.retries == 0
    [incident] = incidents(engine, instance_id)
    assert code in incident.message and "not caught" in incident.message
    assert instance(engine, instance_id).state == "ACTIVE"
    assert open_task_ids(engine, instance_id) == []
    assert len(handler.calls) == 1


# --- timers ------------------------------------------------------------------------------------


def test_intermediate_timer_fires_only_when_due_and_run(engine, clock):
    deploy(engine, "timer_intermediate.bpmn")
    t0 = clock.now()
    instance_id = engine.start_instance("engine_timer_wait")

    [job] = jobs(engine, instance_id)
    assert (job.type, job.activity_id, job.due_at) == ("timer", "Event_OneHour", t0 + timedelta(hours=1))
    assert activity(engine, instance_id, "Event_OneHour").activity_type == "intermediateTimer"

    clock.advance(minutes=59)
    assert engine.run_due_jobs() == 0
    assert open_task_ids(engine, instance_id) == []
    clock.advance(minutes=1)
    assert open_task_ids(engine, instance_id) == []  # due, but only a job run fires it
    assert engine.run_due_jobs() == 1

    assert open_task_ids(engine, instance_id) == ["Task_After"]
    assert jobs(engine, instance_id) == []
    assert activity(engine, instance_id, "Event_OneHour").end_time == t0 + timedelta(hours=1)


def test_an_interrupting_boundary_timer_cancels_the_task_and_takes_its_path(engine, clock):
    deploy(engine, "timer_boundary_interrupting.bpmn")
    t0 = clock.now()
    instance_id = engine.start_instance("engine_timer_timeout")
    work_id = the_task(engine, instance_id, "Task_Work").id
    [job] = jobs(engine, instance_id)
    assert (job.activity_id, job.due_at) == ("Boundary_Timeout", t0 + timedelta(hours=48))

    clock.advance(hours=47, minutes=59)
    assert engine.run_due_jobs() == 0
    clock.advance(minutes=1)
    assert engine.run_due_jobs() == 1

    assert open_task_ids(engine, instance_id) == ["Task_Escalated"]
    assert jobs(engine, instance_id) == []
    work = activity(engine, instance_id, "Task_Work")
    assert (work.canceled, work.end_time) == (True, t0 + timedelta(hours=48))
    assert activity(engine, instance_id, "Boundary_Timeout").activity_type == "boundaryTimer"
    with pytest.raises(ConcurrentModification, match="already cancelled"):
        engine.complete_task(work_id)


def test_completing_the_task_first_removes_its_boundary_timer(engine, clock):
    deploy(engine, "timer_boundary_interrupting.bpmn")
    instance_id = engine.start_instance("engine_timer_timeout")

    engine.complete_task(the_task(engine, instance_id, "Task_Work").id)

    assert jobs(engine, instance_id) == []
    assert instance(engine, instance_id).state == "COMPLETED"
    assert "Boundary_Timeout" not in [a.activity_id for a in history(engine, instance_id)], \
        "a boundary timer that never fired is no activity instance (Camunda)"
    clock.advance(hours=49)
    assert engine.run_due_jobs() == 0


def test_a_non_interrupting_cycle_fires_three_times_while_the_task_stays_open(engine, clock):
    deploy(engine, "timer_boundary_cycle.bpmn")
    t0 = clock.now()
    instance_id = engine.start_instance("engine_timer_reminder")

    for firing in (1, 2, 3):
        [job] = jobs(engine, instance_id)
        assert (job.activity_id, job.due_at) == ("Boundary_Reminder", t0 + timedelta(minutes=10 * firing))
        clock.set(job.due_at - timedelta(seconds=1))
        assert engine.run_due_jobs() == 0
        clock.set(job.due_at)
        assert engine.run_due_jobs() == 1
        assert open_task_ids(engine, instance_id) == ["Task_Remind"] * firing + ["Task_Work"]

    assert jobs(engine, instance_id) == []  # R3: done
    clock.advance(hours=5)
    assert engine.run_due_jobs() == 0
    assert open_task_ids(engine, instance_id) == ["Task_Remind"] * 3 + ["Task_Work"]
    reminders = [t for t in open_tasks(engine, instance_id) if t.activity_id == "Task_Remind"]
    assert sorted(t.created for t in reminders) == [t0 + timedelta(minutes=10 * n) for n in (1, 2, 3)]


def start_reminders(engine, clock, firings: int) -> str:
    deploy(engine, "timer_boundary_cycle.bpmn")
    instance_id = engine.start_instance("engine_timer_reminder")
    for _ in range(firings):
        clock.advance(minutes=10)
        assert engine.run_due_jobs() == 1
    return instance_id


def test_paths_started_by_a_non_interrupting_cycle_outlive_the_activity(engine, clock):
    instance_id = start_reminders(engine, clock, firings=2)

    engine.complete_task(the_task(engine, instance_id, "Task_Work").id)

    assert open_task_ids(engine, instance_id) == ["Task_Remind", "Task_Remind"]
    assert instance(engine, instance_id).state == "ACTIVE"


def test_no_user_task_vanishes_leaving_its_history_row_open(engine, clock):
    instance_id = start_reminders(engine, clock, firings=2)

    engine.complete_task(the_task(engine, instance_id, "Task_Work").id)

    open_ids = {t.id for t in open_tasks(engine, instance_id)}
    dangling = [a.activity_id for a in history(engine, instance_id) if a.end_time is None and a.task_id not in open_ids]
    assert dangling == []


def test_a_time_date_without_zone_is_read_in_the_service_zone(engine, clock):
    deploy(engine, "timer_date.bpmn")
    instance_id = engine.start_instance("engine_timer_date", {"deadline": "2026-11-24T08:00:00"})

    [job] = jobs(engine, instance_id)
    assert job.due_at == datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)  # 08:00 in Asia/Ho_Chi_Minh
    clock.set(job.due_at)
    assert engine.run_due_jobs() == 1
    assert open_task_ids(engine, instance_id) == ["Task_After"]


def test_a_time_date_in_the_past_fires_at_the_next_job_run(engine, clock):
    deploy(engine, "timer_date.bpmn")
    instance_id = engine.start_instance("engine_timer_date", {"deadline": "2020-01-01T00:00:00+07:00"})

    assert open_task_ids(engine, instance_id) == []  # waits at the timer, as a due job
    [job] = jobs(engine, instance_id, "timer")
    assert job.due_at == datetime(2019, 12, 31, 17, 0, tzinfo=timezone.utc)
    assert engine.run_due_jobs() == 1
    assert open_task_ids(engine, instance_id) == ["Task_After"]


def test_a_time_date_in_the_past_does_not_stall_the_instance(engine):
    # Whatever the moment it fires, a past deadline must not leave the instance waiting forever.
    deploy(engine, "timer_date.bpmn")
    instance_id = engine.start_instance("engine_timer_date", {"deadline": "2020-01-01T00:00:00+07:00"})

    engine.run_due_jobs()

    assert open_task_ids(engine, instance_id) == ["Task_After"]
    assert count(engine, m.Job, m.Job.instance_id == instance_id) == 0


def test_a_handler_returning_a_date_is_stored_as_iso_text(engine, handlers):
    from datetime import date

    handlers.register("engine.call", lambda task: {"decidedOn": date(2026, 11, 23)})
    deploy(engine, "service_handler.bpmn")
    instance_id = engine.start_instance("engine_service", {"applicant": "An"})
    engine.run_due_jobs()
    assert engine.instance_variables(instance_id)["decidedOn"] == "2026-11-23"


def test_incidents_go_with_the_calls_an_interrupting_event_cancels(engine, flaky, clock):
    # Both calls are stuck (an in-process job out of retries, a remote task failed with retries 0);
    # the officer gives up on them: the incidents must not outlive the activities they were about.
    flaky.failures = [RuntimeError("down")] * 3
    deploy(engine, "incident_interrupted.bpmn")
    instance_id = engine.start_instance("engine_incident_interrupted", {}, business_key="HS-9")
    for _ in range(3):
        clock.advance(minutes=1)
        engine.run_due_jobs()
    [remote] = engine.external_tasks.fetch_and_lock("w", 5, [{"topicName": "engine.remote", "lockDuration": 60000}])
    engine.external_tasks.failure(remote.id, "w", "registry down", retries=0)
    assert sorted(i.type for i in incidents(engine, instance_id)) == ["failedExternalTask", "failedJob"]

    engine.correlate_message("engine.give-up", business_key="HS-9")

    assert open_task_ids(engine, instance_id) == ["Task_ByHand"]
    assert incidents(engine, instance_id) == []
    assert jobs(engine, instance_id) == []
    assert count(engine, m.ExternalTask, m.ExternalTask.instance_id == instance_id) == 0
