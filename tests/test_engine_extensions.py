"""What the engine offers domains and handlers beyond Camunda's REST: a message scheduled for
later (an agency answering after a hand-off), a candidate group added to an open task (an
escalation), and observers that see each saved command's activity transitions."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import models as m
from engine.errors import ConcurrentModification, NotFound
from tests.engine_helpers import count, deploy, open_task_ids, rows, the_task, user_operations


def waiting(engine, key: str, *business_keys: str) -> list[str]:
    deploy(engine, "message_receive.bpmn")
    return [engine.start_instance("engine_receive", {"fee": 1}, business_key=bk) for bk in business_keys]


def test_a_scheduled_message_is_delivered_by_the_worker_when_due(engine, clock):
    [instance_id] = waiting(engine, "engine_receive", "HS-1")
    assert engine.schedule_message("engine.paid", "HS-1", {"paid": True}, delay=timedelta(seconds=30), job_id="pay-1")
    assert engine.run_due_jobs() == 0  # not due yet
    clock.advance(seconds=30)
    assert engine.run_due_jobs() == 1
    assert open_task_ids(engine, instance_id) == ["Task_After"]
    assert engine.instance_variables(instance_id)["paid"] is True
    assert count(engine, m.Job, m.Job.type == "message") == 0


def test_scheduling_the_same_message_id_twice_is_one_message(engine, clock):
    waiting(engine, "engine_receive", "HS-1")
    assert engine.schedule_message("engine.paid", "HS-1", job_id="pay-1") is True
    assert engine.schedule_message("engine.paid", "HS-1", job_id="pay-1") is False
    assert count(engine, m.Job, m.Job.type == "message") == 1


def test_a_scheduled_message_nobody_waits_for_is_retried_then_an_incident(engine, clock):
    engine.schedule_message("engine.paid", "HS-unknown", job_id="pay-x", retry_cycle="R2/PT5S")
    assert engine.run_due_jobs() == 1
    [job] = rows(engine, m.Job, m.Job.id == "pay-x")
    assert (job.retries, "engine.paid" in job.exception_message) == (1, True)
    clock.advance(seconds=5)
    engine.run_due_jobs()
    [incident] = rows(engine, m.Incident)
    assert incident.configuration == "pay-x" and incident.instance_id is None
    # It never starts an instance, even of a process a message would start.
    assert count(engine, m.ProcessInstance) == 0


def test_a_candidate_group_added_to_an_open_task(engine):
    deploy(engine, "message_receive.bpmn")
    instance_id = engine.start_instance("engine_receive", {}, business_key="HS-1")
    engine.correlate_message("engine.paid", business_key="HS-1")
    task = the_task(engine, instance_id, "Task_After")
    assert engine.add_candidate_group(task.id, "supervisors", actor="system") is True
    assert engine.add_candidate_group(task.id, "supervisors") is False
    groups = sorted(link.group_id for link in rows(engine, m.IdentityLink, m.IdentityLink.task_id == task.id))
    assert groups == ["officers", "supervisors"]
    assert [op.operation_type for op in user_operations(engine, instance_id)][-1] == "AddIdentityLink"
    engine.complete_task(task.id, {})
    with pytest.raises(ConcurrentModification, match="already completed"):
        engine.add_candidate_group(task.id, "others")
    with pytest.raises(NotFound):
        engine.add_candidate_group("no-such-task", "others")


def test_observers_see_the_transitions_of_each_command_in_its_transaction(engine):
    seen = []

    def observer(runtime, transitions):
        seen.append([(t.spec.bpmn_id, t.opened, t.closed) for t in transitions])
        if any(t.spec.bpmn_id == "Task_After" and t.opened for t in transitions):
            raise RuntimeError("the observer refuses")  # its failure rolls the command back

    engine.observers.append(observer)
    deploy(engine, "message_receive.bpmn")
    instance_id = engine.start_instance("engine_receive", {}, business_key="HS-1")
    assert ("Task_WaitPayment", True, False) in seen[0]
    with pytest.raises(RuntimeError, match="the observer refuses"):
        engine.correlate_message("engine.paid", business_key="HS-1")
    assert ("Task_WaitPayment", False, True) in seen[1] and ("Task_After", True, False) in seen[1]
    assert open_task_ids(engine, instance_id) == []  # rolled back: still waiting for the message
    assert count(engine, m.EventSubscription, m.EventSubscription.instance_id == instance_id) == 1
