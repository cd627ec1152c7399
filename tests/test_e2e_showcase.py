"""The Modeler-drawn showcase, deployed and driven to its end through HTTP only.

It uses every construct of the engine's Camunda dialect: an in-process handler with properties
and a retry cycle, a DMN business-rule task, conditions with a default flow, a user task with
candidate groups/users, due date, priority and a generated form, interrupting and
non-interrupting boundary timers, a parallel split/join, a remote worker (external task API),
a receive task and a message catch event, a timer catch event, a call activity, and a message
start event. See tests/fixtures/bpmn/README.md for the path.
"""
from __future__ import annotations

import pytest

from tests.conftest import FIXTURES
from tests.auth import ensure_account
from tests.live import Rest, live_server, wait_for

FILES = ["dialect_showcase.bpmn", "dialect_child.bpmn", "dialect_message_start.bpmn", "showcase_fee.dmn"]
START_VARIABLES = {
    "applicant": {"value": '{"age": 30}', "type": "Json"},
    "kind": {"value": "standard", "type": "String"},
    "approveBy": {"value": "2030-01-01T17:00:00+07:00", "type": "String"},
    "cooldown": {"value": "PT0S", "type": "String"},
    "reviewer": {"value": "carol", "type": "String"},
}


@pytest.fixture
def showcase_handlers(handlers):
    seen = []

    @handlers.handler("showcase.enrich")
    def enrich(task):
        seen.append(task)
        return {"enriched": True, "agency": task.properties["agency"]}

    @handlers.handler("showcase.remind")
    def remind(task):
        return {}

    return seen


def deploy(rest: Rest) -> dict:
    files = [("data", (name, (FIXTURES / "bpmn" / name).read_bytes(), "application/octet-stream")) for name in FILES]
    return rest.call("POST", "/deployment/create", files=files, data={"deployment-name": "showcase"})


def open_tasks(rest: Rest, instance_id: str):
    return lambda: rest.get("/task", params={"processInstanceId": instance_id})


def test_showcase_runs_to_the_end_over_http(engine, showcase_handlers):
    with live_server(engine) as base:
        rest = Rest(base, auth=ensure_account(engine.db, "alice"))
        deployment = deploy(rest)
        assert sorted(d["key"] for d in deployment["deployedProcessDefinitions"].values()) == [
            "dialect_child", "dialect_message_start", "dialect_showcase"]
        assert [d["key"] for d in deployment["deployedDecisionDefinitions"].values()] == ["showcase_fee"]

        started = rest.post("/process-definition/key/dialect_showcase/start",
                            {"variables": START_VARIABLES, "businessKey": "HS-0001"})
        instance = started["id"]

        # The in-process handler runs in the worker; the decision and the gateway follow.
        [approve] = wait_for(open_tasks(rest, instance), lambda tasks: len(tasks) == 1)
        assert approve["taskDefinitionKey"] == "Task_Approve"
        assert approve["name"] == "Phê duyệt"
        assert approve["priority"] == 60
        assert approve["due"].startswith("2030-01-01T10:00:00")
        assert showcase_handlers[0].business_key == "HS-0001"
        variables = rest.get(f"/process-instance/{instance}/variables")
        assert variables["fee"] == {"value": 50000, "type": "Integer", "valueInfo": {}}
        assert variables["agency"]["value"] == "tu-phap"

        # The inbox: the officers' group and the named candidates see it; others do not.
        assert [t["id"] for t in rest.get("/task", params={"candidateGroup": "officers"})] == [approve["id"]]
        assert [t["id"] for t in rest.get("/task", params={"candidateUser": "bob"})] == [approve["id"]]
        assert rest.get("/task", params={"candidateGroup": "supervisors"}) == []
        links = rest.get(f"/task/{approve['id']}/identity-links")
        assert {"groupId": "officers", "userId": None, "type": "candidate"} in links

        # Both boundary timers wait as jobs; the form validates before anything changes.
        jobs = rest.get("/job", params={"processInstanceId": instance})
        assert len(jobs) == 2
        form = rest.get(f"/task/{approve['id']}/form-variables")
        assert form["urgent"]["value"] is False
        rest.post(f"/task/{approve['id']}/claim", {"userId": "alice"})
        refused = rest.post(f"/task/{approve['id']}/complete",
                            {"variables": {"decision": {"value": "maybe"}, "amount": {"value": -1, "type": "Long"}}},
                            expect=400)
        assert set(refused["fieldErrors"]) == {"decision", "amount"}
        rest.post(f"/task/{approve['id']}/complete",
                  {"variables": {"decision": {"value": "approve"}, "amount": {"value": 1000, "type": "Long"}}})
        rest.post(f"/task/{approve['id']}/complete", {"variables": {"decision": {"value": "approve"}}}, expect=409)

        # Parallel branches: a remote worker, a receive task and a message catch event.
        worker = Rest(base)
        locked = worker.post("/external-task/fetchAndLock", {
            "workerId": "remote-1", "maxTasks": 5,
            "topics": [{"topicName": "showcase.register", "lockDuration": 60000, "variables": ["fee", "decision"]}]})
        assert [t["activityId"] for t in locked] == ["Task_Register"]
        assert locked[0]["variables"]["decision"]["value"] == "approve"
        worker.post(f"/external-task/{locked[0]['id']}/complete",
                    {"workerId": "remote-1", "variables": {"registration": {"value": "REG-1"}}})
        rest.post("/message", {"messageName": "showcase.paid", "businessKey": "HS-0001",
                               "processVariables": {"paid": {"value": True, "type": "Boolean"}}})
        rest.post("/message", {"messageName": "showcase.docs", "processInstanceId": instance})

        # The cooldown timer (PT0S) fires, the call activity runs the child process.
        [review] = wait_for(open_tasks(rest, instance), lambda tasks: len(tasks) == 1 and tasks[0]["taskDefinitionKey"] == "Task_ChildReview")
        assert review["assignee"] == "carol"
        rest.post(f"/task/{review['id']}/complete", {})

        [history] = rest.get("/history/process-instance", params={"processInstanceId": instance})
        assert history["state"] == "COMPLETED"
        assert history["businessKey"] == "HS-0001"
        activities = {a["activityId"]: a for a in rest.get("/history/activity-instance", params={"processInstanceId": instance})}
        for activity_id in ("Task_Enrich", "Task_Fee", "Task_Approve", "Task_Register", "Task_WaitPayment",
                            "Event_DocsArrived", "Event_Cooldown", "Task_Child", "End_Done"):
            assert activities[activity_id]["endTime"] is not None, activity_id
        # The called process is an instance of its own, linked to its caller (as Camunda records it).
        called = activities["Task_Child"]["calledProcessInstanceId"]
        [child] = rest.get("/history/process-instance", params={"superProcessInstanceId": instance})
        assert child["id"] == called and child["state"] == "COMPLETED"
        child_activities = {a["activityId"]: a for a in rest.get("/history/activity-instance", params={"processInstanceId": called})}
        assert child_activities["Task_ChildReview"]["endTime"] is not None
        assert activities["Task_Approve"]["assignee"] == "alice"
        assert "Boundary_ApproveTimeout" not in activities  # it never fired: Camunda records nothing
        assert activities["Task_Fee"]["activityType"] == "businessRuleTask"
        assert rest.get("/task", params={"processInstanceId": instance}) == []
        assert rest.get("/job", params={"processInstanceId": instance}) == []

        # A message start event starts a new instance of another process.
        result = rest.post("/message", {"messageName": "showcase.start", "businessKey": "HS-0002", "resultEnabled": True})
        assert result[0]["resultType"] == "ProcessDefinition"
        [intake] = rest.get("/task", params={"processInstanceBusinessKey": "HS-0002"})
        assert intake["taskDefinitionKey"] == "Task_Intake"
