"""`${...}` in a message name and in camunda:topic is evaluated with the instance's variables when
the element is reached, as in Camunda 7 (issue 13)."""
from __future__ import annotations

from tests.fidelity import activities, deployed, diagram, start, state, task_keys

MESSAGES = ('<bpmn:message id="Msg" name="reply-${caseNo}" />')


def test_a_message_name_with_an_expression_is_correlated_by_its_value(client):
    body = ('<bpmn:startEvent id="S" /><bpmn:intermediateCatchEvent id="Wait">'
            '<bpmn:messageEventDefinition id="MD" messageRef="Msg" /></bpmn:intermediateCatchEvent>'
            '<bpmn:userTask id="After" /><bpmn:endEvent id="E" />'
            '<bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Wait" />'
            '<bpmn:sequenceFlow id="F2" sourceRef="Wait" targetRef="After" />'
            '<bpmn:sequenceFlow id="F3" sourceRef="After" targetRef="E" />')
    deployed(client, {"named.bpmn": diagram("named_message", body, before=MESSAGES)})
    first, second = start(client, "named_message", caseNo="A1"), start(client, "named_message", caseNo="B2")
    literal = client.post("/engine-rest/message", json={"messageName": "reply-${caseNo}", "all": True})
    assert literal.status_code == 400, "the expression itself is no message name"
    answer = client.post("/engine-rest/message", json={"messageName": "reply-B2", "processInstanceId": second})
    assert answer.status_code in (200, 204), answer.get_data(as_text=True)
    assert task_keys(client, second) == ["After"]
    assert task_keys(client, first) == [] and state(client, first) == "ACTIVE"


def test_a_topic_with_an_expression_is_the_topic_the_external_task_is_fetched_by(client):
    body = ('<bpmn:startEvent id="S" /><bpmn:serviceTask id="Call" camunda:type="external" '
            'camunda:topic="register-${agency}" /><bpmn:endEvent id="E" />'
            '<bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Call" />'
            '<bpmn:sequenceFlow id="F2" sourceRef="Call" targetRef="E" />')
    deployed(client, {"topic.bpmn": diagram("named_topic", body)})
    instance = start(client, "named_topic", agency="hcm")
    fetched = client.post("/engine-rest/external-task/fetchAndLock", json={
        "workerId": "w1", "maxTasks": 5, "topics": [{"topicName": "register-hcm", "lockDuration": 10000}]})
    assert fetched.status_code == 200, fetched.get_data(as_text=True)
    [task] = fetched.get_json()
    assert task["processInstanceId"] == instance and task["topicName"] == "register-hcm"
    done = client.post(f"/engine-rest/external-task/{task['id']}/complete", json={"workerId": "w1"})
    assert done.status_code == 204, done.get_data(as_text=True)
    assert state(client, instance) == "COMPLETED"


def test_a_receive_task_and_a_boundary_message_named_by_expressions(client):
    body = ('<bpmn:startEvent id="S" /><bpmn:receiveTask id="Wait" messageRef="Msg" />'
            '<bpmn:userTask id="Review" /><bpmn:boundaryEvent id="Withdrawn" attachedToRef="Review">'
            '<bpmn:messageEventDefinition id="WD" messageRef="Withdraw" /></bpmn:boundaryEvent>'
            '<bpmn:endEvent id="E" /><bpmn:endEvent id="Gone" />'
            '<bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Wait" />'
            '<bpmn:sequenceFlow id="F2" sourceRef="Wait" targetRef="Review" />'
            '<bpmn:sequenceFlow id="F3" sourceRef="Review" targetRef="E" />'
            '<bpmn:sequenceFlow id="F4" sourceRef="Withdrawn" targetRef="Gone" />')
    messages = MESSAGES + '<bpmn:message id="Withdraw" name="withdraw-${caseNo}" />'
    deployed(client, {"receive.bpmn": diagram("named_receive", body, before=messages)})
    instance = start(client, "named_receive", caseNo="C3")
    assert client.post("/engine-rest/message", json={"messageName": "reply-C3"}).status_code in (200, 204)
    assert task_keys(client, instance) == ["Review"]
    assert client.post("/engine-rest/message", json={"messageName": "withdraw-C3"}).status_code in (200, 204)
    assert state(client, instance) == "COMPLETED"
    assert "Gone" in [a["activityId"] for a in activities(client, instance)]
