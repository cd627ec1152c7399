"""History as Camunda 7 writes it (issue 13): a boundary event that never fired leaves no
activity instance; one that fired leaves one, completed."""
from __future__ import annotations

from datetime import timedelta

from tests.fidelity import activities, complete, deployed, diagram, start, state

BOUNDARY = ('<bpmn:startEvent id="S" /><bpmn:userTask id="Review" /><bpmn:endEvent id="E" />'
            '<bpmn:boundaryEvent id="Late" attachedToRef="Review">'
            '<bpmn:timerEventDefinition id="T"><bpmn:timeDuration>PT1H</bpmn:timeDuration>'
            '</bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:endEvent id="LateEnd" />'
            '<bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Review" />'
            '<bpmn:sequenceFlow id="F2" sourceRef="Review" targetRef="E" />'
            '<bpmn:sequenceFlow id="F3" sourceRef="Late" targetRef="LateEnd" />')


def test_a_boundary_timer_that_never_fired_is_no_activity_instance(client):
    deployed(client, {"boundary.bpmn": diagram("boundary_timer", BOUNDARY)})
    instance = start(client, "boundary_timer")
    assert [a["activityId"] for a in activities(client, instance) if a["activityId"] == "Late"] == []
    complete(client, instance, "Review")
    assert state(client, instance) == "COMPLETED"
    rows = activities(client, instance)
    assert sorted(a["activityId"] for a in rows) == ["E", "Review", "S"]
    assert not any(a["canceled"] for a in rows)


def test_a_boundary_timer_that_fired_is_one_completed_activity_instance(client, engine, clock):
    deployed(client, {"boundary.bpmn": diagram("boundary_timer", BOUNDARY)})
    instance = start(client, "boundary_timer")
    clock.advance(timedelta(hours=2))
    engine.run_due_jobs()
    assert state(client, instance) == "COMPLETED"
    rows = {a["activityId"]: a for a in activities(client, instance)}
    assert rows["Late"]["activityType"] == "boundaryTimer" and not rows["Late"]["canceled"]
    assert rows["Late"]["endTime"] is not None
    assert rows["Review"]["canceled"] is True


CHILD = ('<bpmn:startEvent id="ChildStart" /><bpmn:userTask id="ChildReview" /><bpmn:endEvent id="ChildEnd" />'
         '<bpmn:sequenceFlow id="C1" sourceRef="ChildStart" targetRef="ChildReview" />'
         '<bpmn:sequenceFlow id="C2" sourceRef="ChildReview" targetRef="ChildEnd" />')
PARENT = ('<bpmn:startEvent id="S" /><bpmn:callActivity id="Call" calledElement="child" />'
          '<bpmn:userTask id="After" /><bpmn:endEvent id="E" />'
          '<bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Call" />'
          '<bpmn:sequenceFlow id="F2" sourceRef="Call" targetRef="After" />'
          '<bpmn:sequenceFlow id="F3" sourceRef="After" targetRef="E" />')


def _historic(client, **query) -> list[dict]:
    return client.get("/engine-rest/history/process-instance", query_string=query).get_json()


def test_a_called_process_is_an_instance_of_its_own_linked_to_its_caller(client):
    deployed(client, {"child.bpmn": diagram("child", CHILD), "parent.bpmn": diagram("parent", PARENT)})
    caller = start(client, "parent")
    [called] = _historic(client, superProcessInstanceId=caller)
    assert (called["processDefinitionKey"], called["state"], called["superProcessInstanceId"]) == ("child", "ACTIVE", caller)
    assert called["rootProcessInstanceId"] == caller and called["id"] != caller
    [call] = [a for a in activities(client, caller) if a["activityId"] == "Call"]
    assert call["calledProcessInstanceId"] == called["id"]
    assert "ChildReview" not in [a["activityId"] for a in activities(client, caller)]
    child_rows = activities(client, called["id"])
    assert sorted(a["activityId"] for a in child_rows) == ["ChildReview", "ChildStart"]
    assert {a["processDefinitionKey"] for a in child_rows} == {"child"}
    refused = client.delete(f"/engine-rest/process-instance/{called['id']}")
    assert refused.status_code == 400 and caller in refused.get_json()["message"]

    complete(client, caller, "ChildReview")  # the task is still the caller's runtime row
    [called] = _historic(client, superProcessInstanceId=caller)
    assert called["state"] == "COMPLETED" and called["endTime"] is not None
    assert state(client, caller) == "ACTIVE"


def test_cancelling_the_caller_terminates_the_called_instance(client):
    deployed(client, {"child.bpmn": diagram("child", CHILD), "parent.bpmn": diagram("parent", PARENT)})
    caller = start(client, "parent")
    assert client.delete(f"/engine-rest/process-instance/{caller}").status_code == 204
    [called] = _historic(client, superProcessInstanceId=caller)
    assert called["state"] == "EXTERNALLY_TERMINATED" and called["endTime"] is not None
    assert all(a["endTime"] is not None for a in activities(client, called["id"]))
