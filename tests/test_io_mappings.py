"""Input/output mappings through the REST API, with Camunda 7's semantics (docs: "Input/Output
Variable Mapping"): inputs are the activity's local variables (its due date, form, handler and
inner tasks see them; the process does not), outputs are evaluated in the activity's scope and
written to the process; `${...}`, literals, camunda:list and camunda:map; a call activity's
camunda:in / camunda:out."""
from __future__ import annotations

import json
from datetime import timedelta

from tests.constructs import API, chain, complete, deploy, deployed, diagram, start, state, tasks, variables

MAPPED = diagram("mapped", """
    <bpmn:startEvent id="Begin" />
    <bpmn:userTask id="Review" camunda:candidateGroups="ho-tich" camunda:dueDate="${deadline}">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="deadline">${dateTime().plusDays(days).toDate()}</camunda:inputParameter>
          <camunda:inputParameter name="office">Ủy ban nhân dân xã Mỹ An</camunda:inputParameter>
          <camunda:inputParameter name="childName">${declaration.child.name}</camunda:inputParameter>
          <camunda:inputParameter name="documents">
            <camunda:list>
              <camunda:value>birth certificate</camunda:value>
              <camunda:value>${declaration.mother.id}</camunda:value>
              <camunda:value><camunda:map><camunda:entry key="kind">nested</camunda:entry></camunda:map></camunda:value>
            </camunda:list>
          </camunda:inputParameter>
          <camunda:inputParameter name="summary">
            <camunda:map>
              <camunda:entry key="child">${declaration.child.name}</camunda:entry>
              <camunda:entry key="days">${days}</camunda:entry>
              <camunda:entry key="empty" />
            </camunda:map>
          </camunda:inputParameter>
          <camunda:outputParameter name="decision">${approved ? "accepted" : "refused"}</camunda:outputParameter>
          <camunda:outputParameter name="reviewedChild">${childName}</camunda:outputParameter>
          <camunda:outputParameter name="reviewedAt">${now()}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:serviceTask id="Notify" camunda:type="external" camunda:topic="notify.mapped">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="message">Hồ sơ của ${declaration.child.name}: ${decision}</camunda:inputParameter>
          <camunda:outputParameter name="notified">${sent}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:userTask id="Archive" camunda:candidateGroups="ho-tich" />
    <bpmn:endEvent id="Finish" />
    """ + chain("Begin", "Review", "Notify", "Archive", "Finish"))

DECLARATION = {"child": {"name": "Nguyễn Văn An"}, "mother": {"id": "079012345678"}}


def _task_variables(client, task_id: str) -> dict:
    answer = client.get(f"{API}/task/{task_id}/form-variables").get_json()
    return {name: json.loads(entry["value"]) if entry["type"] == "Json" else entry["value"] for name, entry in answer.items()}


def test_inputs_are_the_activitys_local_variables_and_outputs_reach_the_process(client, handlers, clock):
    sent = []
    handlers.register("notify.mapped", lambda task: sent.append(task.variables["message"]) or {"sent": True, "sms": 1})
    deployed(client, {"mapped.bpmn": MAPPED})
    pi = start(client, "mapped", declaration=DECLARATION, days=3)
    [review] = tasks(client, pi)
    assert review["due"] == (clock.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    seen = _task_variables(client, review["id"])
    assert seen["office"] == "Ủy ban nhân dân xã Mỹ An"
    assert seen["childName"] == "Nguyễn Văn An"
    assert seen["documents"] == ["birth certificate", "079012345678", {"kind": "nested"}]
    assert seen["summary"] == {"child": "Nguyễn Văn An", "days": 3, "empty": None}
    assert not {"deadline", "office", "childName", "documents", "summary"} & set(variables(client, pi))

    complete(client, review["id"], approved=True)
    assert sent == ["Hồ sơ của Nguyễn Văn An: accepted"]
    values = variables(client, pi)
    assert values["decision"] == "accepted" and values["reviewedChild"] == "Nguyễn Văn An"
    assert values["reviewedAt"].startswith(clock.now().date().isoformat())
    assert values["approved"] is True  # what the officer submitted reaches the process as well
    assert values["notified"] is True and values["sms"] == 1
    assert "message" not in values and "office" not in values


SUBPROCESS = diagram("mapped_sub", """
    <bpmn:startEvent id="Begin" />
    <bpmn:subProcess id="Register">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="registrar">tu-phap-ho-tich</camunda:inputParameter>
          <camunda:outputParameter name="registeredBy">${registrar}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
      <bpmn:startEvent id="SubBegin" />
      <bpmn:userTask id="Record" camunda:candidateGroups="${registrar}" />
      <bpmn:endEvent id="SubFinish" />
      """ + chain("SubBegin", "Record", "SubFinish") + """
    </bpmn:subProcess>
    <bpmn:userTask id="After" camunda:candidateGroups="ho-tich" />
    <bpmn:endEvent id="Finish" />
    """ + chain("Begin", "Register", "After", "Finish"))


def test_a_subprocess_input_is_seen_by_the_tasks_inside_it(client):
    deployed(client, {"sub.bpmn": SUBPROCESS})
    pi = start(client, "mapped_sub")
    [record] = tasks(client, pi)
    links = client.get(f"{API}/task/{record['id']}/identity-links").get_json()
    assert [link["groupId"] for link in links] == ["tu-phap-ho-tich"]
    complete(client, record["id"])
    assert variables(client, pi) == {"registeredBy": "tu-phap-ho-tich"}


CALLED = diagram("card_process", """
    <bpmn:startEvent id="CBegin" />
    <bpmn:userTask id="IssueCard" camunda:candidateGroups="bhxh" camunda:dueDate="${cardDue}" />
    <bpmn:endEvent id="CFinish" />
    """ + chain("CBegin", "IssueCard", "CFinish"))

CALLER = diagram("card_caller", """
    <bpmn:startEvent id="Begin" />
    <bpmn:callActivity id="CallCard" calledElement="card_process">
      <bpmn:extensionElements>
        <camunda:in businessKey="#{execution.processBusinessKey}" />
        <camunda:in variables="all" />
        <camunda:in source="childDue" target="cardDue" />
        <camunda:in sourceExpression="${child.name}" target="holder" />
        <camunda:out source="cardNumber" target="bhytCard" />
        <camunda:out sourceExpression="${holder} / ${cardNumber}" target="cardLabel" />
      </bpmn:extensionElements>
    </bpmn:callActivity>
    <bpmn:userTask id="After" camunda:candidateGroups="ho-tich" />
    <bpmn:endEvent id="Finish" />
    """ + chain("Begin", "CallCard", "After", "Finish"))


def test_call_activity_in_and_out_mappings(client):
    deployed(client, {"called.bpmn": CALLED, "caller.bpmn": CALLER})
    pi = start(client, "card_caller", business_key="HS-1", child={"name": "An"}, childDue="2026-12-10T08:00:00+07:00")
    [card] = tasks(client, pi)
    assert card["taskDefinitionKey"] == "IssueCard" and card["due"] == "2026-12-10T01:00:00.000+0000"
    assert _task_variables(client, card["id"])["holder"] == "An"
    complete(client, card["id"], cardNumber="GD4791234567890")
    values = variables(client, pi)
    assert values["bhytCard"] == "GD4791234567890" and values["cardLabel"] == "An / GD4791234567890"
    assert "holder" not in values and "cardDue" not in values
    [after] = tasks(client, pi)
    assert after["taskDefinitionKey"] == "After"
    complete(client, after["id"])
    assert state(client, pi) == "COMPLETED"


def test_scripts_and_other_business_keys_are_refused_in_plain_words(client):
    office = "<camunda:inputParameter name=\"office\">Ủy ban nhân dân xã Mỹ An</camunda:inputParameter>".encode()
    script = MAPPED.replace(office, b'<camunda:inputParameter name="office">'
                                    b'<camunda:script scriptFormat="groovy">1</camunda:script></camunda:inputParameter>')
    assert script != MAPPED
    other_key = CALLER.replace(b"#{execution.processBusinessKey}", b"${child.name}")
    answer = deploy(client, {"mapped.bpmn": script, "called.bpmn": CALLED, "caller.bpmn": other_key})
    assert answer.status_code == 400
    reasons = {(p["file"], p["elementId"]): p["reason"] for p in answer.get_json()["problems"]}
    assert "the mapping 'office' is a script" in reasons[("mapped.bpmn", "Review")]
    assert "businessKey may only be ${execution.processBusinessKey}" in reasons[("caller.bpmn", "CallCard")]
