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
