"""The REST API over the real engine: deploy, start, work the inbox, correlate, cancel, read history.

These go through `client` (conftest: the real ProcessEngine on SQLite and PostgreSQL), with two
small diagrams inline so the test says exactly what it deploys.
"""
from __future__ import annotations

import io
import re

import pytest

from tests.auth import as_user

API = "/engine-rest"
CAMUNDA_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_{key}" '
    'targetNamespace="http://bpmn.io/schema/bpmn">\n'
)

# start → review (group civil-registry, one boolean form field) → wait for "fee-paid" → end
BIRTH = (_HEAD.format(key="birth") + """
  <bpmn:process id="birth" name="Đăng ký khai sinh" isExecutable="true">
    <bpmn:startEvent id="Start_Birth"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Review" name="Xét duyệt" camunda:candidateGroups="civil-registry">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="approved" label="Approved" type="boolean" defaultValue="false" />
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:intermediateCatchEvent id="WaitFee" name="Fee paid">
      <bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing>
      <bpmn:messageEventDefinition id="MED_Fee" messageRef="Msg_Fee" />
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="End_Birth"><bpmn:incoming>F3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_Birth" targetRef="Review" />
    <bpmn:sequenceFlow id="F2" sourceRef="Review" targetRef="WaitFee" />
    <bpmn:sequenceFlow id="F3" sourceRef="WaitFee" targetRef="End_Birth" />
  </bpmn:process>
  <bpmn:message id="Msg_Fee" name="fee-paid" />
</bpmn:definitions>
""").encode()

# message "death.reported" starts it → record (group civil-registry) → end
DEATH = (_HEAD.format(key="death") + """
  <bpmn:process id="death" name="Khai tử" isExecutable="true">
    <bpmn:startEvent id="Start_Death">
      <bpmn:outgoing>F1</bpmn:outgoing>
      <bpmn:messageEventDefinition id="MED_Death" messageRef="Msg_Death" />
    </bpmn:startEvent>
    <bpmn:userTask id="Record" name="Ghi sổ" camunda:candidateGroups="civil-registry">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="End_Death"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_Death" targetRef="Record" />
    <bpmn:sequenceFlow id="F2" sourceRef="Record" targetRef="End_Death" />
  </bpmn:process>
  <bpmn:message id="Msg_Death" name="death.reported" />
</bpmn:definitions>
""").encode()


def deploy(client, files: dict[str, bytes], **settings):
    data = {name: (io.BytesIO(content), name) for name, content in files.items()}
    data.update({"deployment-name": "civil", "deployment-source": "tests", **settings})
    return client.post(f"{API}/deployment/create", data=data, content_type="multipart/form-data")


@pytest.fixture
def deployed(client):
    response = deploy(client, {"birth.bpmn": BIRTH, "death.bpmn": DEATH})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def start_birth(client, business_key="HS-2026-001", user="an", **variables):
    typed = {name: {"value": value, "type": "String"} for name, value in variables.items()}
    response = client.post(
        f"{API}/process-definition/key/birth/start",
        json={"businessKey": business_key, "variables": typed},
        headers=as_user(client, user),
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["id"]


def only_task(client, **filters) -> dict:
    tasks = client.get(f"{API}/task", query_string=filters).get_json()
    assert len(tasks) == 1, tasks
    return tasks[0]


# --- deployment --------------------------------------------------------------------------------


def test_deploy_answers_like_camunda(client, deployed):
    assert deployed["name"] == "civil"
    assert deployed["source"] == "tests"
    assert CAMUNDA_DATE.match(deployed["deploymentTime"])
    assert deployed["links"][0]["href"].endswith(f"/engine-rest/deployment/{deployed['id']}")
    processes = deployed["deployedProcessDefinitions"]
    assert sorted(d["key"] for d in processes.values()) == ["birth", "death"]
    for definition_id, definition in processes.items():
        assert definition["id"] == definition_id
        assert definition["version"] == 1
        assert definition["deploymentId"] == deployed["id"]
    assert deployed["deployedDecisionDefinitions"] is None
    assert client.get(f"{API}/deployment/{deployed['id']}").get_json()["name"] == "civil"


def test_redeploying_the_same_files_makes_no_new_version(client, deployed):
    again = deploy(client, {"birth.bpmn": BIRTH, "death.bpmn": DEATH}, **{"enable-duplicate-filtering": "true"})
    assert again.status_code == 200
    assert again.get_json()["deployedProcessDefinitions"] is None
    assert client.get(f"{API}/process-definition/count", query_string={"key": "birth"}).get_json() == {"count": 1}


def test_a_refused_deployment_says_which_file_and_why(client):
    response = deploy(client, {"broken.bpmn": b"<bpmn:definitions"})
    assert response.status_code == 400
    body = response.get_json()
    assert body["type"] == "ParseException"
    assert list(body["details"]) == ["broken.bpmn"]
    assert body["details"]["broken.bpmn"]["errors"][0]["message"]
    assert body["problems"][0]["file"] == "broken.bpmn"
    assert client.get(f"{API}/deployment/count").get_json() == {"count": 0}


def test_definition_xml(client, deployed):
    latest = client.get(f"{API}/process-definition/key/birth").get_json()
    assert latest["name"] == "Đăng ký khai sinh"
    by_key = client.get(f"{API}/process-definition/key/birth/xml").get_json()
    assert by_key == {"id": latest["id"], "bpmn20Xml": BIRTH.decode()}
    assert client.get(f"{API}/process-definition/{latest['id']}/xml").get_json() == by_key
    assert client.get(f"{API}/process-definition/key/nope/xml").status_code == 404


# --- instances and variables -------------------------------------------------------------------


def test_start_with_variables_in_return(client, deployed):
    response = client.post(
        f"{API}/process-definition/key/birth/start",
        json={
            "businessKey": "HS-2026-001",
            "variables": {"childName": {"value": "Nguyễn Văn A", "type": "String"},
                          "weight": {"value": 3200, "type": "Integer"}},
            "withVariablesInReturn": True,
        },
        headers=as_user(client, "an"),
    )
    assert response.status_code == 200
    started = response.get_json()
    assert started["businessKey"] == "HS-2026-001"
    assert started["definitionId"] == client.get(f"{API}/process-definition/key/birth").get_json()["id"]
    assert started["ended"] is False and started["suspended"] is False
    assert started["variables"]["childName"] == {"value": "Nguyễn Văn A", "type": "String", "valueInfo": {}}
    assert started["variables"]["weight"]["value"] == 3200
    instance = client.get(f"{API}/process-instance/{started['id']}").get_json()
    assert instance["businessKey"] == "HS-2026-001"
    variables = client.get(f"{API}/process-instance/{started['id']}/variables").get_json()
    assert variables["weight"] == {"value": 3200, "type": "Integer", "valueInfo": {}}
    assert client.get(f"{API}/process-instance/{started['id']}/variables/weight").get_json()["value"] == 3200
    assert client.get(f"{API}/process-instance/{started['id']}/variables/nope").status_code == 404
    history = client.get(f"{API}/history/process-instance/{started['id']}").get_json()
    assert history["startUserId"] == "an"
    assert history["state"] == "ACTIVE"


def test_start_unknown_key_is_404(client, deployed):
    response = client.post(f"{API}/process-definition/key/nope/start", json={})
    assert response.status_code == 404
    assert set(response.get_json()) == {"type", "message"}


def test_cancel_instance(client, deployed):
    pi = start_birth(client)
    response = client.delete(f"{API}/process-instance/{pi}", headers=as_user(client, "chi"))
    assert response.status_code == 204
    assert client.get(f"{API}/process-instance/{pi}").status_code == 404
    assert client.get(f"{API}/history/process-instance/{pi}").get_json()["state"] == "EXTERNALLY_TERMINATED"
    assert client.get(f"{API}/task", query_string={"processInstanceId": pi}).get_json() == []
    log = client.get(f"{API}/history/user-operation", query_string={"processInstanceId": pi, "operationType": "Delete"})
    assert [op["userId"] for op in log.get_json()] == ["chi"]
    # Camunda: a finished instance is not in the runtime any more.
    assert client.delete(f"{API}/process-instance/{pi}").status_code == 404


# --- the inbox ---------------------------------------------------------------------------------


def test_claim_and_candidate_queries(client, deployed):
    pi = start_birth(client)
    task = only_task(client, candidateGroup="civil-registry")
    assert task["processInstanceId"] == pi
    assert task["taskDefinitionKey"] == "Review"
    assert task["name"] == "Xét duyệt"
    assert task["assignee"] is None
    assert CAMUNDA_DATE.match(task["created"])

    assert client.post(f"{API}/task/{task['id']}/claim", json={"userId": "an"}, headers=as_user(client, "an")).status_code == 204
    assert client.get(f"{API}/task", query_string={"candidateGroup": "civil-registry"}).get_json() == []
    claimed = only_task(client, candidateGroup="civil-registry", includeAssignedTasks="true")
    assert claimed["assignee"] == "an"
    assert only_task(client, assignee="an")["id"] == task["id"]
    links = client.get(f"{API}/task/{task['id']}/identity-links").get_json()
    assert {"userId": "an", "groupId": None, "type": "assignee"} in links
    assert {"userId": None, "groupId": "civil-registry", "type": "candidate"} in links

    conflict = client.post(f"{API}/task/{task['id']}/claim", json={"userId": "binh"})
    assert conflict.status_code == 409
    assert conflict.get_json()["type"] == "TaskAlreadyClaimedException"

    assert client.post(f"{API}/task/{task['id']}/unclaim").status_code == 204
    assert client.get(f"{API}/task/{task['id']}").get_json()["assignee"] is None
    assert client.post(f"{API}/task/{task['id']}/assignee", json={"userId": "binh"}).status_code == 204
    assert client.get(f"{API}/task/{task['id']}").get_json()["assignee"] == "binh"
    log = client.get(f"{API}/history/user-operation", query_string={"taskId": task["id"], "operationType": "Claim"})
    assert [op["userId"] for op in log.get_json()] == ["an"]


def test_form_variables_and_complete(client, deployed):
    start_birth(client)
    task = only_task(client, candidateGroup="civil-registry")
    form = client.get(f"{API}/task/{task['id']}/form-variables").get_json()
    assert form == {"approved": {"value": False, "type": "Boolean", "valueInfo": {}}}

    refused = client.post(f"{API}/task/{task['id']}/complete",
                          json={"variables": {"approved": {"value": "maybe", "type": "String"}}})
    assert refused.status_code == 400
    assert list(refused.get_json()["fieldErrors"]) == ["approved"]

    done = client.post(f"{API}/task/{task['id']}/complete", json={
        "variables": {"approved": {"value": True, "type": "Boolean"}}, "withVariablesInReturn": True})
    assert done.status_code == 200
    assert done.get_json()["approved"] == {"value": True, "type": "Boolean", "valueInfo": {}}
    assert client.get(f"{API}/task/{task['id']}").status_code == 404
    again = client.post(f"{API}/task/{task['id']}/complete", json={"variables": {}})
    assert again.status_code == 409
    assert again.get_json()["type"] == "OptimisticLockingException"


def test_complete_without_return_is_204(client, deployed):
    start_birth(client)
    task = only_task(client, candidateGroup="civil-registry")
    assert client.post(f"{API}/task/{task['id']}/complete", json={}).status_code == 204


def test_unknown_task_commands_are_404(client, deployed):
    for path in ("claim", "complete"):
        response = client.post(f"{API}/task/nope/{path}", json={"userId": "an"})
        assert response.status_code == 404
        assert set(response.get_json()) == {"type", "message"}
    assert client.get(f"{API}/task/nope/form-variables").status_code == 404


# --- messages and history ----------------------------------------------------------------------


def test_message_to_a_waiting_instance(client, deployed):
    pi = start_birth(client, business_key="HS-7")
    task = only_task(client, processInstanceId=pi)
    client.post(f"{API}/task/{task['id']}/complete", json={"variables": {"approved": {"value": True}}})

    response = client.post(f"{API}/message", json={
        "messageName": "fee-paid", "businessKey": "HS-7", "resultEnabled": True,
        "processVariables": {"receipt": {"value": "BL-001", "type": "String"}}})
    assert response.status_code == 200, response.get_json()
    [result] = response.get_json()
    assert result["resultType"] == "Execution"
    assert result["execution"]["processInstanceId"] == pi
    assert result["execution"]["ended"] is True
    assert result["processInstance"] is None

    history = client.get(f"{API}/history/process-instance/{pi}").get_json()
    assert history["state"] == "COMPLETED"
    assert CAMUNDA_DATE.match(history["endTime"])
    activities = client.get(f"{API}/history/activity-instance",
                            query_string={"processInstanceId": pi, "sortBy": "occurrence", "sortOrder": "asc"}).get_json()
    assert [a["activityId"] for a in activities] == ["Start_Birth", "Review", "WaitFee", "End_Birth"]
    review = activities[1]
    assert review["taskId"] == task["id"]
    assert review["endTime"] is not None


def test_message_that_starts_an_instance(client, deployed):
    response = client.post(f"{API}/message", json={
        "messageName": "death.reported", "businessKey": "KT-1", "resultEnabled": True})
    assert response.status_code == 200, response.get_json()
    [result] = response.get_json()
    assert result["resultType"] == "ProcessDefinition"
    assert result["execution"] is None
    started = result["processInstance"]
    assert started["businessKey"] == "KT-1"
    assert started["ended"] is False
    assert only_task(client, processInstanceBusinessKey="KT-1")["processInstanceId"] == started["id"]


def test_message_without_result_is_204_and_no_match_is_400(client, deployed):
    start_birth(client, business_key="HS-8")
    task = only_task(client, processInstanceBusinessKey="HS-8")
    client.post(f"{API}/task/{task['id']}/complete", json={})
    assert client.post(f"{API}/message", json={"messageName": "fee-paid", "businessKey": "HS-8"}).status_code == 204
    missing = client.post(f"{API}/message", json={"messageName": "fee-paid", "businessKey": "HS-404"})
    assert missing.status_code == 400
    assert "Cannot correlate message 'fee-paid'" in missing.get_json()["message"]


def test_job_retries_for_unknown_job(client, deployed):
    response = client.put(f"{API}/job/nope/retries", json={"retries": 3})
    assert response.status_code == 404
