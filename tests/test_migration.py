"""Migration of running instances to a new version (Camunda's /migration) and suspension
(PUT /process-instance/{id}/suspended), through the REST API, as Camunda 7's user guide and REST
reference describe them."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest

from tests.auth import as_user
from tests.engine_helpers import fixture

API = "/engine-rest"

_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
         '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_{key}" '
         'targetNamespace="http://bpmn.io/schema/bpmn">\n')

# v1: review (48 hours, then escalated) -> end
REVIEW_V1 = (_HEAD.format(key="review") + """
  <bpmn:process id="review" name="Xét duyệt" isExecutable="true">
    <bpmn:startEvent id="Start_1"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Review" name="Xét duyệt" camunda:candidateGroups="officers">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="Deadline" attachedToRef="Review" cancelActivity="false">
      <bpmn:outgoing>F3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT48H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="Escalate" name="Báo lãnh đạo" camunda:candidateGroups="supervisors">
      <bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="Escalated"><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="End_1"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Review" />
    <bpmn:sequenceFlow id="F2" sourceRef="Review" targetRef="End_1" />
    <bpmn:sequenceFlow id="F3" sourceRef="Deadline" targetRef="Escalate" />
    <bpmn:sequenceFlow id="F4" sourceRef="Escalate" targetRef="Escalated" />
  </bpmn:process>
</bpmn:definitions>
""")

# v2 (a decree): 24 hours, and a signature after the review
REVIEW_V2 = (REVIEW_V1.replace("PT48H", "PT24H")
             .replace('<bpmn:endEvent id="End_1"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>', """
    <bpmn:userTask id="Sign" name="Ký duyệt" camunda:candidateGroups="officers">
      <bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F5</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="End_1"><bpmn:incoming>F5</bpmn:incoming></bpmn:endEvent>""")
             .replace('<bpmn:sequenceFlow id="F2" sourceRef="Review" targetRef="End_1" />',
                      '<bpmn:sequenceFlow id="F2" sourceRef="Review" targetRef="Sign" />'
                      '<bpmn:sequenceFlow id="F5" sourceRef="Sign" targetRef="End_1" />'))

# Everything a suspended instance must not do: a user task, a timer, an external task, a message.
HOLD = (_HEAD.format(key="hold") + """
  <bpmn:process id="hold" isExecutable="true">
    <bpmn:startEvent id="Start_1"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="Split">
      <bpmn:incoming>F1</bpmn:incoming>
      <bpmn:outgoing>F2</bpmn:outgoing><bpmn:outgoing>F3</bpmn:outgoing>
      <bpmn:outgoing>F4</bpmn:outgoing><bpmn:outgoing>F5</bpmn:outgoing>
    </bpmn:parallelGateway>
    <bpmn:userTask id="Review" camunda:candidateGroups="officers"><bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>G2</bpmn:outgoing></bpmn:userTask>
    <bpmn:intermediateCatchEvent id="Wait"><bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>G3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="Score" camunda:type="external" camunda:topic="clients.score">
      <bpmn:extensionElements><camunda:properties><camunda:property name="worker" value="external" /></camunda:properties></bpmn:extensionElements>
      <bpmn:incoming>F4</bpmn:incoming><bpmn:outgoing>G4</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:intermediateCatchEvent id="Paid"><bpmn:incoming>F5</bpmn:incoming><bpmn:outgoing>G5</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="Msg_Paid" />
    </bpmn:intermediateCatchEvent>
    <bpmn:parallelGateway id="Join">
      <bpmn:incoming>G2</bpmn:incoming><bpmn:incoming>G3</bpmn:incoming>
      <bpmn:incoming>G4</bpmn:incoming><bpmn:incoming>G5</bpmn:incoming>
      <bpmn:outgoing>F6</bpmn:outgoing>
    </bpmn:parallelGateway>
    <bpmn:endEvent id="End_1"><bpmn:incoming>F6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Split" />
    <bpmn:sequenceFlow id="F2" sourceRef="Split" targetRef="Review" />
    <bpmn:sequenceFlow id="F3" sourceRef="Split" targetRef="Wait" />
    <bpmn:sequenceFlow id="F4" sourceRef="Split" targetRef="Score" />
    <bpmn:sequenceFlow id="F5" sourceRef="Split" targetRef="Paid" />
    <bpmn:sequenceFlow id="G2" sourceRef="Review" targetRef="Join" />
    <bpmn:sequenceFlow id="G3" sourceRef="Wait" targetRef="Join" />
    <bpmn:sequenceFlow id="G4" sourceRef="Score" targetRef="Join" />
    <bpmn:sequenceFlow id="G5" sourceRef="Paid" targetRef="Join" />
    <bpmn:sequenceFlow id="F6" sourceRef="Join" targetRef="End_1" />
  </bpmn:process>
  <bpmn:message id="Msg_Paid" name="fee.paid" />
</bpmn:definitions>
""")


def deploy(client, name: str, content: str) -> str:
    data = {name: (io.BytesIO(content.encode()), name), "deployment-name": name}
    response = client.post(f"{API}/deployment/create", data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    [definition] = response.get_json()["deployedProcessDefinitions"].values()
    return definition["id"]


def start(client, key: str, business_key: str) -> str:
    response = client.post(f"{API}/process-definition/key/{key}/start", json={"businessKey": business_key})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["id"]


def tasks(client, instance_id: str) -> list[dict]:
    return client.get(f"{API}/task", query_string={"processInstanceId": instance_id}).get_json()


def timer_jobs(client, instance_id: str) -> list[dict]:
    return client.get(f"{API}/job", query_string={"processInstanceId": instance_id, "timers": "true"}).get_json()


def complete(client, task_id: str, expect: int = 204):
    response = client.post(f"{API}/task/{task_id}/complete", json={"variables": {}})
    assert response.status_code == expect, response.get_json()
    return response


@pytest.fixture
def v1(client) -> str:
    return deploy(client, "review.bpmn", REVIEW_V1)


def new_version(client) -> str:
    """v2, deployed once the test's instances run on v1 (a start by key takes the latest)."""
    return deploy(client, "review.bpmn", REVIEW_V2)


def plan(client, v1: str, v2: str, **settings) -> dict:
    response = client.post(f"{API}/migration/generate",
                           json={"sourceProcessDefinitionId": v1, "targetProcessDefinitionId": v2, **settings})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def migrate(client, migration_plan: dict, *instance_ids: str, expect: int = 204):
    response = client.post(f"{API}/migration/execute",
                           json={"migrationPlan": migration_plan, "processInstanceIds": list(instance_ids)})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


# --- plans ---------------------------------------------------------------------------------------


def test_a_generated_plan_maps_the_activities_of_the_same_id_and_kind(client, v1):
    v2 = new_version(client)
    generated = plan(client, v1, v2)
    assert generated["sourceProcessDefinitionId"] == v1 and generated["targetProcessDefinitionId"] == v2
    assert generated["instructions"] == [
        {"sourceActivityIds": [a], "targetActivityIds": [a], "updateEventTrigger": False}
        for a in ("Deadline", "Escalate", "Review")
    ]  # not the start, not the end events: no instance rests there
    with_triggers = plan(client, v1, v2, updateEventTriggers=True)["instructions"]
    assert {i["sourceActivityIds"][0]: i["updateEventTrigger"] for i in with_triggers} == {
        "Deadline": True, "Escalate": False, "Review": False}
    report = client.post(f"{API}/migration/validate", json=generated).get_json()
    assert report == {"instructionReports": [], "variableReports": {}}


def test_validation_reports_every_failing_instruction_as_camunda_does(client, v1):
    v2 = new_version(client)
    bad = {"sourceProcessDefinitionId": v1, "targetProcessDefinitionId": v2, "instructions": [
        {"sourceActivityIds": ["Review"], "targetActivityIds": ["Deadline"]},  # a user task to a timer
        {"sourceActivityIds": ["Escalate"], "targetActivityIds": ["Nowhere"]},
        {"sourceActivityIds": ["Review"], "targetActivityIds": ["Sign"], "updateEventTrigger": True},
    ]}
    response = client.post(f"{API}/migration/validate", json=bad)
    assert response.status_code == 200
    reports = {r["instruction"]["targetActivityIds"][0]: r["failures"] for r in response.get_json()["instructionReports"]}
    assert reports["Deadline"] == [
        "There are multiple mappings for source activity id 'Review'",
        "Activities have incompatible types (userTask is not compatible with boundaryTimer)"]
    assert reports["Nowhere"] == ["Target activity 'Nowhere' does not exist"]
    assert reports["Sign"] == [
        "There are multiple mappings for source activity id 'Review'",
        "Cannot update event trigger because the activity does not define a persistent event trigger"]
    unknown = client.post(f"{API}/migration/validate", json={**bad, "targetProcessDefinitionId": "no-such"})
    assert unknown.status_code == 400 and "targetProcessDefinitionId" in unknown.get_json()["fieldErrors"]
    missing = client.post(f"{API}/migration/validate", json={"instructions": []})
    assert missing.status_code == 400 and "sourceProcessDefinitionId" in missing.get_json()["fieldErrors"]


def test_an_invalid_plan_migrates_nothing(client, v1):
    instance_id = start(client, "review", "HS-1")
    v2 = new_version(client)
    bad = {"sourceProcessDefinitionId": v1, "targetProcessDefinitionId": v2,
           "instructions": [{"sourceActivityIds": ["Review"], "targetActivityIds": ["Deadline"]}]}
    body = migrate(client, bad, instance_id, expect=400)
    assert body["type"] == "MigrationPlanValidationException"
    assert body["validationReport"]["instructionReports"][0]["failures"] == [
        "Activities have incompatible types (userTask is not compatible with boundaryTimer)"]
    assert client.get(f"{API}/process-instance/{instance_id}").get_json()["definitionId"] == v1


# --- execution -----------------------------------------------------------------------------------


def test_a_waiting_instance_moves_to_the_new_version_keeps_its_task_and_finishes_there(client, v1, clock):
    instance_id = start(client, "review", "HS-1")
    other = start(client, "review", "HS-2")  # stays on v1
    v2 = new_version(client)
    [task] = tasks(client, instance_id)
    assert client.post(f"{API}/task/{task['id']}/claim", json={"userId": "an"}).status_code == 204
    [timer] = timer_jobs(client, instance_id)

    clock.advance(hours=1)
    migrate(client, plan(client, v1, v2), instance_id)

    assert client.get(f"{API}/process-instance/{instance_id}").get_json()["definitionId"] == v2
    assert client.get(f"{API}/process-instance/{other}").get_json()["definitionId"] == v1
    [moved] = tasks(client, instance_id)
    assert (moved["id"], moved["assignee"], moved["processDefinitionId"]) == (task["id"], "an", v2)
    [kept] = timer_jobs(client, instance_id)  # Camunda keeps a timer's due date unless told to update it
    assert (kept["id"], kept["dueDate"], kept["processDefinitionId"]) == (timer["id"], timer["dueDate"], v2)

    complete(client, moved["id"])
    [sign] = tasks(client, instance_id)  # v2's new step after the review
    assert sign["taskDefinitionKey"] == "Sign" and sign["processDefinitionId"] == v2
    complete(client, sign["id"])
    history = client.get(f"{API}/history/process-instance/{instance_id}").get_json()
    assert history["state"] == "COMPLETED" and history["processDefinitionId"] == v2
    assert history["processDefinitionVersion"] == 2
    operations = client.get(f"{API}/history/user-operation", query_string={"processInstanceId": instance_id}).get_json()
    migrated = [o for o in operations if o["operationType"] == "Migrate"]
    assert len(migrated) == 1 and migrated[0]["entityType"] == "ProcessInstance"
    activities = client.get(f"{API}/history/activity-instance", query_string={"processInstanceId": instance_id}).get_json()
    assert {a["activityId"]: a["processDefinitionId"] for a in activities}["Sign"] == v2

    complete(client, tasks(client, other)[0]["id"])  # v1 instances finish on v1: no signature
    assert client.get(f"{API}/history/process-instance/{other}").get_json()["state"] == "COMPLETED"


def test_the_plan_s_variables_are_set_in_every_migrated_instance(client, v1):
    ids = [start(client, "review", f"HS-{n}") for n in range(2)]
    v2 = new_version(client)
    with_variables = {**plan(client, v1, v2), "variables": {"decree": {"value": "118/2026/NĐ-CP", "type": "String"}}}
    assert client.post(f"{API}/migration/validate", json=with_variables).get_json()["variableReports"] == {}
    migrate(client, with_variables, *ids)
    for instance_id in ids:
        assert client.get(f"{API}/process-instance/{instance_id}/variables/decree").get_json()["value"] == "118/2026/NĐ-CP"
    bad = {**with_variables, "variables": {"decree": {"value": "x", "type": "Integer"}}}
    assert client.post(f"{API}/migration/execute", json={"migrationPlan": bad, "processInstanceIds": ids}).status_code == 400


def test_update_event_trigger_sets_the_timer_from_the_new_definition(client, v1, clock, engine):
    instance_id = start(client, "review", "HS-1")
    v2 = new_version(client)
    clock.advance(hours=1)
    migrate(client, plan(client, v1, v2, updateEventTriggers=True), instance_id)
    [timer] = timer_jobs(client, instance_id)
    due = datetime.strptime(timer["dueDate"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert due == clock.now() + timedelta(hours=24)  # v2's 24 hours, from the migration
    clock.set(due)
    assert engine.run_due_jobs() == 1
    assert sorted(t["taskDefinitionKey"] for t in tasks(client, instance_id)) == ["Escalate", "Review"]


def test_an_activity_without_instruction_refuses_the_instance_and_migrates_none(client, v1):
    first, second = start(client, "review", "HS-1"), start(client, "review", "HS-2")
    v2 = new_version(client)
    partial = plan(client, v1, v2)
    # The review and its deadline left out: a valid plan (the escalation maps), but not for an
    # instance waiting in the review.
    partial["instructions"] = [i for i in partial["instructions"] if i["sourceActivityIds"] == ["Escalate"]]
    assert client.post(f"{API}/migration/validate", json=partial).get_json()["instructionReports"] == []
    body = migrate(client, partial, first, second, expect=400)
    assert body["type"] == "MigratingProcessInstanceValidationException"
    report = body["validationReport"]
    assert report["processInstanceId"] == first
    activities = report["activityInstanceValidationReports"]
    assert sorted(a["sourceScopeId"] for a in activities) == ["Deadline", "Review"]
    assert {f for a in activities for f in a["failures"]} == {"There is no migration instruction for this instance's activity"}
    for instance_id in (first, second):
        assert client.get(f"{API}/process-instance/{instance_id}").get_json()["definitionId"] == v1


def test_instances_chosen_by_query_and_an_ended_one_refused(client, v1):
    ids = [start(client, "review", f"HS-{n}") for n in range(3)]
    v2 = new_version(client)
    response = client.post(f"{API}/migration/execute", json={
        "migrationPlan": plan(client, v1, v2), "processInstanceQuery": {"processDefinitionId": v1}})
    assert response.status_code == 204, response.get_json()
    assert {client.get(f"{API}/process-instance/{i}").get_json()["definitionId"] for i in ids} == {v2}
    complete(client, tasks(client, ids[0])[0]["id"])
    complete(client, tasks(client, ids[0])[0]["id"])
    ended = migrate(client, plan(client, v1, v2), ids[0], expect=400)
    assert "has ended" in ended["message"]
    assert client.post(f"{API}/migration/executeAsync", json={"migrationPlan": plan(client, v1, v2),
                                                              "processInstanceIds": ids}).status_code == 400


def test_only_operators_migrate_and_suspend(client, v1):
    instance_id = start(client, "review", "HS-1")
    v2 = new_version(client)
    officer = as_user(client, "can-bo", roles=["officer"], groups=["officers"])
    body = {"migrationPlan": plan(client, v1, v2), "processInstanceIds": [instance_id]}
    assert client.post(f"{API}/migration/execute", json=body, headers=officer).status_code == 403
    assert client.put(f"{API}/process-instance/{instance_id}/suspended", json={"suspended": True},
                      headers=officer).status_code == 403
    operator = as_user(client, "van-hanh", roles=["operator"])
    assert client.put(f"{API}/process-instance/{instance_id}/suspended", json={"suspended": True},
                      headers=operator).status_code == 204
    assert client.post(f"{API}/migration/execute", json=body, headers=operator).status_code == 204


# --- suspension ----------------------------------------------------------------------------------


def test_a_suspended_instance_runs_nothing_until_it_is_activated(client, engine, clock):
    deploy(client, "hold.bpmn", HOLD)
    instance_id = start(client, "hold", "HS-1")
    [task] = tasks(client, instance_id)
    suspend = client.put(f"{API}/process-instance/{instance_id}/suspended", json={"suspended": True})
    assert suspend.status_code == 204

    assert client.get(f"{API}/process-instance/{instance_id}").get_json()["suspended"] is True
    assert client.get(f"{API}/task/{task['id']}").get_json()["suspended"] is True
    assert [t["id"] for t in client.get(f"{API}/task", query_string={"suspended": "true"}).get_json()] == [task["id"]]
    assert client.get(f"{API}/task", query_string={"active": "true"}).get_json() == []
    refused = complete(client, task["id"], expect=400).get_json()
    assert refused["type"] == "SuspendedEntityInteractionException" and "is suspended" in refused["message"]
    claim = client.post(f"{API}/task/{task['id']}/claim", json={"userId": "an"})
    assert claim.status_code == 400 and claim.get_json()["type"] == "SuspendedEntityInteractionException"
    clock.advance(hours=2)
    assert engine.run_due_jobs() == 0  # the timer is due, but held
    fetch = {"workerId": "w", "maxTasks": 5, "topics": [{"topicName": "clients.score", "lockDuration": 10000}]}
    assert client.post(f"{API}/external-task/fetchAndLock", json=fetch).get_json() == []
    message = client.post(f"{API}/message", json={"messageName": "fee.paid", "businessKey": "HS-1"})
    assert message.status_code == 400  # nothing waits for it: the instance is held
    assert client.get(f"{API}/process-instance", query_string={"suspended": "true"}).get_json()[0]["id"] == instance_id
    assert client.get(f"{API}/process-instance", query_string={"active": "true"}).get_json() == []
    assert client.get(f"{API}/history/process-instance/{instance_id}").get_json()["state"] == "SUSPENDED"

    activate = client.put(f"{API}/process-instance/{instance_id}/suspended", json={"suspended": False})
    assert activate.status_code == 204
    assert client.get(f"{API}/task/{task['id']}").get_json()["suspended"] is False
    assert engine.run_due_jobs() == 1
    [locked] = client.post(f"{API}/external-task/fetchAndLock", json=fetch).get_json()
    assert client.post(f"{API}/external-task/{locked['id']}/complete", json={"workerId": "w"}).status_code == 204
    assert client.post(f"{API}/message", json={"messageName": "fee.paid", "businessKey": "HS-1"}).status_code == 204
    complete(client, task["id"])
    assert client.get(f"{API}/history/process-instance/{instance_id}").get_json()["state"] == "COMPLETED"
    operations = client.get(f"{API}/history/user-operation", query_string={"processInstanceId": instance_id}).get_json()
    assert [o["operationType"] for o in operations if o["operationType"] in ("Suspend", "Activate")] == ["Suspend", "Activate"]


def test_a_job_claimed_before_the_suspension_waits_for_the_activation(client, engine, clock):
    deploy(client, "hold.bpmn", HOLD)
    instance_id = start(client, "hold", "HS-1")
    clock.advance(hours=2)
    [claimed] = engine.jobs.claim(10)  # a worker took the timer job...
    client.put(f"{API}/process-instance/{instance_id}/suspended", json={"suspended": True})
    assert engine.jobs.execute(claimed) == "held (instance suspended)"  # ...and finds the instance held
    [job] = timer_jobs(client, instance_id)
    assert (job["retries"], job["exceptionMessage"], job["suspended"]) == (3, None, True)  # not a failure
    assert engine.run_due_jobs() == 0
    client.put(f"{API}/process-instance/{instance_id}/suspended", json={"suspended": False})
    assert engine.run_due_jobs() == 1
    assert timer_jobs(client, instance_id) == []


def test_a_suspended_definition_starts_nothing_and_holds_its_instances(client, v1):
    running = start(client, "review", "HS-1")
    body = {"suspended": True, "includeProcessInstances": True}
    assert client.put(f"{API}/process-definition/{v1}/suspended", json=body).status_code == 204
    assert client.get(f"{API}/process-definition/{v1}").get_json()["suspended"] is True
    assert client.get(f"{API}/process-instance/{running}").get_json()["suspended"] is True
    refused = client.post(f"{API}/process-definition/key/review/start", json={"businessKey": "HS-2"})
    assert refused.status_code == 400 and refused.get_json()["type"] == "SuspendedEntityInteractionException"
    complete(client, tasks(client, running)[0]["id"], expect=400)
    assert client.put(f"{API}/process-definition/{v1}/suspended", json={"suspended": False}).status_code == 204
    assert client.get(f"{API}/process-instance/{running}").get_json()["suspended"] is True  # not released: not asked
    assert client.put(f"{API}/process-definition/{v1}/suspended",
                      json={"suspended": False, "includeProcessInstances": True}).status_code == 204
    complete(client, tasks(client, running)[0]["id"])
    start(client, "review", "HS-2")
    later = client.put(f"{API}/process-definition/{v1}/suspended", json={"suspended": True, "executionDate": "2027-01-01T00:00:00.000+0700"})
    assert later.status_code == 400 and "executionDate" in later.get_json()["fieldErrors"]


def test_suspension_needs_a_running_instance_and_a_flag(client):
    deploy(client, "hold.bpmn", HOLD)
    instance_id = start(client, "hold", "HS-1")
    assert client.put(f"{API}/process-instance/{instance_id}/suspended", json={}).status_code == 400
    assert client.put(f"{API}/process-instance/no-such/suspended", json={"suspended": True}).status_code == 404


def test_a_suspended_instance_can_be_migrated_and_cancelled(client, v1):
    instance_id = start(client, "review", "HS-1")
    v2 = new_version(client)
    client.put(f"{API}/process-instance/{instance_id}/suspended", json={"suspended": True})
    migrate(client, plan(client, v1, v2), instance_id)
    answer = client.get(f"{API}/process-instance/{instance_id}").get_json()
    assert (answer["definitionId"], answer["suspended"]) == (v2, True)
    assert client.delete(f"{API}/process-instance/{instance_id}").status_code == 204
    assert client.get(f"{API}/history/process-instance/{instance_id}").get_json()["state"] == "EXTERNALLY_TERMINATED"


# --- called processes --------------------------------------------------------------------------


def caller_v2() -> str:
    """The caller with a step after the call (engine fixtures: call_versioned.bpmn)."""
    text = fixture("call_versioned.bpmn").decode()
    return (text.replace('<bpmn:sequenceFlow id="Flow_Call_End" sourceRef="Call_Versioned" targetRef="End_Caller" />',
                         '<bpmn:sequenceFlow id="Flow_Call_End" sourceRef="Call_Versioned" targetRef="Task_After" />'
                         '<bpmn:sequenceFlow id="Flow_After_End" sourceRef="Task_After" targetRef="End_Caller" />')
            .replace('<bpmn:incoming>Flow_Call_End</bpmn:incoming>', '<bpmn:incoming>Flow_After_End</bpmn:incoming>')
            .replace('<bpmn:endEvent id="End_Caller"', '<bpmn:userTask id="Task_After" name="After" '
                     'camunda:candidateGroups="officers"><bpmn:incoming>Flow_Call_End</bpmn:incoming>'
                     '<bpmn:outgoing>Flow_After_End</bpmn:outgoing></bpmn:userTask>\n    <bpmn:endEvent id="End_Caller"'))


def test_a_called_process_already_running_stays_on_its_version_one_not_yet_called_takes_the_new(client):
    deploy(client, "versioned.bpmn", fixture("versioned_v1.bpmn").decode())
    caller_v1 = deploy(client, "call_versioned.bpmn", fixture("call_versioned.bpmn").decode())
    inside, before = start(client, "engine_call_versioned", "HS-1"), start(client, "engine_call_versioned", "HS-2")
    complete(client, tasks(client, inside)[0]["id"])
    assert [t["taskDefinitionKey"] for t in tasks(client, inside)] == ["Task_Review"]  # in the called process
    deploy(client, "versioned.bpmn", fixture("versioned_v2.bpmn").decode())  # the called process adds an archive step
    caller_2 = deploy(client, "call_versioned.bpmn", caller_v2())

    migrate(client, plan(client, caller_v1, caller_2), inside, before)

    complete(client, tasks(client, inside)[0]["id"])  # the review of the called v1: no archive step
    assert [t["taskDefinitionKey"] for t in tasks(client, inside)] == ["Task_After"]
    complete(client, tasks(client, before)[0]["id"])
    complete(client, tasks(client, before)[0]["id"])  # called now: the called process's latest version
    assert [t["taskDefinitionKey"] for t in tasks(client, before)] == ["Task_Archive"]


EMBEDDED = (_HEAD.format(key="embedded") + """
  <bpmn:process id="embedded" isExecutable="true">
    <bpmn:startEvent id="Start_1"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:subProcess id="Checks">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
      <bpmn:startEvent id="Checks_Start"><bpmn:outgoing>S1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:userTask id="Check" camunda:candidateGroups="officers"><bpmn:incoming>S1</bpmn:incoming><bpmn:outgoing>S2</bpmn:outgoing></bpmn:userTask>
      <bpmn:endEvent id="Checks_End"><bpmn:incoming>S2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="S1" sourceRef="Checks_Start" targetRef="Check" />
      <bpmn:sequenceFlow id="S2" sourceRef="Check" targetRef="Checks_End" />
    </bpmn:subProcess>
    <bpmn:endEvent id="End_1"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start_1" targetRef="Checks" />
    <bpmn:sequenceFlow id="F2" sourceRef="Checks" targetRef="End_1" />
  </bpmn:process>
</bpmn:definitions>
""")

# v2: the check is renamed (an instruction maps it) and is followed by a second one inside the subprocess
EMBEDDED_V2 = (EMBEDDED.replace('id="Check"', 'id="Verify"').replace('targetRef="Check"', 'targetRef="Verify"')
               .replace('<bpmn:sequenceFlow id="S2" sourceRef="Check" targetRef="Checks_End" />',
                        '<bpmn:sequenceFlow id="S2" sourceRef="Verify" targetRef="Countersign" />'
                        '<bpmn:sequenceFlow id="S3" sourceRef="Countersign" targetRef="Checks_End" />')
               .replace('<bpmn:endEvent id="Checks_End"><bpmn:incoming>S2</bpmn:incoming></bpmn:endEvent>',
                        '<bpmn:userTask id="Countersign" camunda:candidateGroups="officers"><bpmn:incoming>S2</bpmn:incoming>'
                        '<bpmn:outgoing>S3</bpmn:outgoing></bpmn:userTask>'
                        '<bpmn:endEvent id="Checks_End"><bpmn:incoming>S3</bpmn:incoming></bpmn:endEvent>'))


def test_an_instance_inside_an_embedded_subprocess_moves_with_a_renamed_activity(client):
    v1 = deploy(client, "embedded.bpmn", EMBEDDED)
    instance_id = start(client, "embedded", "HS-1")
    [task] = tasks(client, instance_id)
    v2 = deploy(client, "embedded.bpmn", EMBEDDED_V2)
    generated = plan(client, v1, v2)
    assert [i["sourceActivityIds"] for i in generated["instructions"]] == [["Checks"]]  # "Check" has no namesake
    migrate(client, generated, instance_id, expect=400)  # the open check has no instruction
    generated["instructions"].append({"sourceActivityIds": ["Check"], "targetActivityIds": ["Verify"]})
    migrate(client, generated, instance_id)
    [moved] = tasks(client, instance_id)
    assert (moved["id"], moved["taskDefinitionKey"]) == (task["id"], "Verify")
    complete(client, moved["id"])
    assert [t["taskDefinitionKey"] for t in tasks(client, instance_id)] == ["Countersign"]
    complete(client, tasks(client, instance_id)[0]["id"])
    assert client.get(f"{API}/history/process-instance/{instance_id}").get_json()["state"] == "COMPLETED"
    verify = [a for a in client.get(f"{API}/history/activity-instance", query_string={"processInstanceId": instance_id}).get_json()
              if a["activityId"] == "Verify"]
    assert len(verify) == 1 and verify[0]["processDefinitionId"] == v2


def test_a_finished_branch_the_new_version_no_longer_has_is_refused_by_name(client, engine, clock):
    v1 = deploy(client, "hold.bpmn", HOLD)
    instance_id = start(client, "hold", "HS-1")
    complete(client, tasks(client, instance_id)[0]["id"])  # the review's branch waits at the join
    # v2: the review is dropped from the parallel checks
    v2 = deploy(client, "hold.bpmn", HOLD.replace('<bpmn:outgoing>F2</bpmn:outgoing>', '')
                .replace('<bpmn:incoming>G2</bpmn:incoming>', '')
                .replace('<bpmn:userTask id="Review" camunda:candidateGroups="officers"><bpmn:incoming>F2</bpmn:incoming>'
                         '<bpmn:outgoing>G2</bpmn:outgoing></bpmn:userTask>', '')
                .replace('<bpmn:sequenceFlow id="F2" sourceRef="Split" targetRef="Review" />', '')
                .replace('<bpmn:sequenceFlow id="G2" sourceRef="Review" targetRef="Join" />', ''))
    body = migrate(client, plan(client, v1, v2), instance_id, expect=400)
    assert body["validationReport"]["failures"] == [
        "The instance's state still holds 'Review', which the target process does not have"]
