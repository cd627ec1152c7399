"""The read-only resources (deployments, definitions, instances, incidents, jobs, history) over
rows written directly: filters, counts, paging, JSON shapes and 404s, without the engine."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.test_api_support import T0, ids, rows, rows_client, rows_engine  # noqa: F401 (fixtures)

API = "/engine-rest"


@pytest.fixture
def world(rows):
    dep = rows.deployment(id="dep-1", name="civil", source="modeler")
    birth1 = rows.definition("birth", 1, id="birth:1", deployment=dep)
    birth2 = rows.definition("birth", 2, id="birth:2", deployment=dep, version_tag="2026.11")
    death = rows.definition("death", 1, id="death:1", deployment=dep, name="Death notice")
    running = rows.instance(birth2, id="pi-running", business_key="HS-1", start_user_id="an")
    done = rows.instance(birth1, id="pi-done", state="COMPLETED", business_key="HS-0",
                         end_time=T0 + timedelta(hours=2, milliseconds=5), start_activity_id="start")
    canceled = rows.instance(death, id="pi-canceled", state="EXTERNALLY_TERMINATED",
                             end_time=T0 + timedelta(minutes=1), delete_reason="duplicate")
    return {"birth1": birth1, "birth2": birth2, "death": death,
            "running": running, "done": done, "canceled": canceled}


# --- deployments and definitions ---------------------------------------------------------------


def test_deployments(rows_client, world, rows):
    rows.deployment(id="dep-2", name="other", deployment_time=T0 + timedelta(days=1))
    assert ids(rows_client.get(f"{API}/deployment")) == ["dep-1", "dep-2"]
    assert ids(rows_client.get(f"{API}/deployment", query_string={"name": "other"})) == ["dep-2"]
    assert rows_client.get(f"{API}/deployment/count").get_json() == {"count": 2}
    deployment = rows_client.get(f"{API}/deployment/dep-1").get_json()
    assert deployment["name"] == "civil"
    assert deployment["source"] == "modeler"
    assert deployment["deploymentTime"] == "2026-11-23T08:00:00.000+0000"
    assert deployment["links"] == [
        {"method": "GET", "href": "http://localhost/engine-rest/deployment/dep-1", "rel": "self"}
    ]
    missing = rows_client.get(f"{API}/deployment/nope")
    assert missing.status_code == 404
    assert "nope" in missing.get_json()["message"]


def test_process_definitions(rows_client, world):
    assert ids(rows_client.get(f"{API}/process-definition")) == ["birth:1", "birth:2", "death:1"]
    latest = rows_client.get(f"{API}/process-definition", query_string={"latestVersion": "true"})
    assert ids(latest) == ["birth:2", "death:1"]
    assert ids(rows_client.get(f"{API}/process-definition", query_string={"key": "birth", "latestVersion": "true"})) == [
        "birth:2"]
    assert ids(rows_client.get(f"{API}/process-definition", query_string={"name": "Death notice"})) == ["death:1"]
    count = rows_client.get(f"{API}/process-definition/count", query_string={"key": "birth"})
    assert count.get_json() == {"count": 2}
    by_version = rows_client.get(f"{API}/process-definition", query_string={"sortBy": "version", "sortOrder": "desc",
                                                                           "key": "birth"})
    assert ids(by_version) == ["birth:2", "birth:1"]


def test_process_definition_shape_and_latest_by_key(rows_client, world):
    definition = rows_client.get(f"{API}/process-definition/key/birth").get_json()
    assert definition == {
        "id": "birth:2", "key": "birth", "category": None, "description": None, "name": "Birth",
        "version": 2, "resource": "birth.bpmn", "deploymentId": "dep-1", "diagram": None,
        "suspended": False, "tenantId": None, "versionTag": "2026.11", "historyTimeToLive": None,
        "startableInTasklist": True,
    }
    assert rows_client.get(f"{API}/process-definition/birth:1").get_json()["version"] == 1
    assert rows_client.get(f"{API}/process-definition/key/nope").status_code == 404
    assert rows_client.get(f"{API}/process-definition/nope").status_code == 404


# --- runtime process instances -----------------------------------------------------------------


def test_runtime_instances_are_the_running_ones(rows_client, world):
    assert ids(rows_client.get(f"{API}/process-instance")) == ["pi-running"]
    assert rows_client.get(f"{API}/process-instance/count").get_json() == {"count": 1}
    assert ids(rows_client.get(f"{API}/process-instance", query_string={"businessKey": "HS-1"})) == ["pi-running"]
    assert ids(rows_client.get(f"{API}/process-instance", query_string={"processDefinitionKey": "death"})) == []
    assert ids(rows_client.get(f"{API}/process-instance", query_string={"processDefinitionId": "birth:2"})) == [
        "pi-running"]
    assert ids(rows_client.get(f"{API}/process-instance", query_string={"active": "true"})) == ["pi-running"]
    assert ids(rows_client.get(f"{API}/process-instance", query_string={"suspended": "true"})) == []
    assert ids(rows_client.get(f"{API}/process-instance", query_string={"processInstanceIds": "pi-done,pi-running"})) == [
        "pi-running"]


def test_runtime_instance_shape_and_404_once_ended(rows_client, world):
    instance = rows_client.get(f"{API}/process-instance/pi-running").get_json()
    assert instance == {
        "links": [{"method": "GET", "href": "http://localhost/engine-rest/process-instance/pi-running", "rel": "self"}],
        "id": "pi-running", "definitionId": "birth:2", "definitionKey": "birth", "businessKey": "HS-1",
        "caseInstanceId": None, "ended": False, "suspended": False, "tenantId": None,
    }
    gone = rows_client.get(f"{API}/process-instance/pi-done")
    assert gone.status_code == 404
    assert gone.get_json()["message"] == "Process instance with id pi-done does not exist"


def test_instances_with_incident(rows_client, world, rows):
    rows.incident("pi-running")
    assert ids(rows_client.get(f"{API}/process-instance", query_string={"withIncident": "true"})) == ["pi-running"]


# --- history -----------------------------------------------------------------------------------


def test_historic_process_instances(rows_client, world):
    everything = rows_client.get(f"{API}/history/process-instance")
    assert sorted(ids(everything)) == ["pi-canceled", "pi-done", "pi-running"]
    assert sorted(ids(rows_client.get(f"{API}/history/process-instance", query_string={"finished": "true"}))) == [
        "pi-canceled", "pi-done"]
    assert ids(rows_client.get(f"{API}/history/process-instance", query_string={"unfinished": "true"})) == [
        "pi-running"]
    assert ids(rows_client.get(f"{API}/history/process-instance",
                               query_string={"processInstanceBusinessKey": "HS-0"})) == ["pi-done"]
    assert ids(rows_client.get(f"{API}/history/process-instance", query_string={"startedBy": "an"})) == ["pi-running"]
    count = rows_client.get(f"{API}/history/process-instance/count", query_string={"processDefinitionKey": "birth"})
    assert count.get_json() == {"count": 2}


def test_historic_process_instance_shape(rows_client, world):
    done = rows_client.get(f"{API}/history/process-instance/pi-done").get_json()
    assert done["state"] == "COMPLETED"
    assert done["businessKey"] == "HS-0"
    assert done["processDefinitionId"] == "birth:1"
    assert done["processDefinitionKey"] == "birth"
    assert done["processDefinitionName"] == "Birth"
    assert done["processDefinitionVersion"] == 1
    assert done["startTime"] == "2026-11-23T08:00:00.000+0000"
    assert done["endTime"] == "2026-11-23T10:00:00.005+0000"
    assert done["durationInMillis"] == 2 * 3600 * 1000 + 5
    assert done["startActivityId"] == "start"
    canceled = rows_client.get(f"{API}/history/process-instance/pi-canceled").get_json()
    assert canceled["state"] == "EXTERNALLY_TERMINATED"
    assert canceled["deleteReason"] == "duplicate"
    running = rows_client.get(f"{API}/history/process-instance/pi-running").get_json()
    assert running["endTime"] is None and running["durationInMillis"] is None
    assert running["startUserId"] == "an"
    assert rows_client.get(f"{API}/history/process-instance/nope").status_code == 404


def test_historic_activity_instances(rows_client, world, rows):
    rows.activity("pi-done", "start", id="a1", activity_type="startEvent",
                  end_time=T0)
    rows.activity("pi-done", "review", id="a2", activity_name="Review", task_id="t-1", assignee="an",
                  end_time=T0 + timedelta(minutes=30))
    rows.activity("pi-running", "review", id="a3", start_time=T0 + timedelta(hours=1))
    url = f"{API}/history/activity-instance"
    assert ids(rows_client.get(url, query_string={"processInstanceId": "pi-done"})) == ["a1", "a2"]
    assert ids(rows_client.get(url, query_string={"activityId": "review"})) == ["a2", "a3"]
    assert ids(rows_client.get(url, query_string={"activityType": "startEvent"})) == ["a1"]
    assert ids(rows_client.get(url, query_string={"finished": "true"})) == ["a1", "a2"]
    assert ids(rows_client.get(url, query_string={"unfinished": "true"})) == ["a3"]
    assert ids(rows_client.get(url, query_string={"sortBy": "startTime", "sortOrder": "desc"}))[0] == "a3"
    assert ids(rows_client.get(url, query_string={"sortBy": "occurrence", "sortOrder": "desc"})) == ["a3", "a2", "a1"]
    assert rows_client.get(f"{url}/count", query_string={"processInstanceId": "pi-done"}).get_json() == {"count": 2}
    review = rows_client.get(url, query_string={"activityInstanceId": "a2"}).get_json()[0]
    assert review["activityId"] == "review"
    assert review["activityName"] == "Review"
    assert review["activityType"] == "userTask"
    assert review["processInstanceId"] == "pi-done"
    assert review["processDefinitionId"] == "birth:1"
    assert review["taskId"] == "t-1"
    assert review["assignee"] == "an"
    assert review["startTime"] == "2026-11-23T08:00:00.000+0000"
    assert review["endTime"] == "2026-11-23T08:30:00.000+0000"
    assert review["durationInMillis"] == 30 * 60 * 1000
    assert review["canceled"] is False


def test_user_operation_log(rows_client, world, rows):
    rows.operation(user_id="an", operation_type="Claim", instance_id="pi-running", task_id="t-1")
    rows.operation(user_id="binh", operation_type="Complete", instance_id="pi-running", task_id="t-1",
                   timestamp=T0 + timedelta(minutes=5), details={"variables": ["approved"]})
    rows.operation(user_id="an", operation_type="Create", entity_type="ProcessInstance", instance_id="pi-done")
    url = f"{API}/history/user-operation"
    assert len(rows_client.get(url).get_json()) == 3
    assert [op["operationType"] for op in rows_client.get(url, query_string={"taskId": "t-1"}).get_json()] == [
        "Claim", "Complete"]
    by_user = rows_client.get(url, query_string={"userId": "an", "operationType": "Create"}).get_json()
    assert [op["processInstanceId"] for op in by_user] == ["pi-done"]
    assert by_user[0]["category"] == "Operator"
    complete = rows_client.get(url, query_string={"operationType": "Complete"}).get_json()[0]
    assert complete["userId"] == "binh"
    assert complete["timestamp"] == "2026-11-23T08:05:00.000+0000"
    assert complete["entityType"] == "Task"
    assert complete["category"] == "TaskWorker"
    assert isinstance(complete["id"], str)
    assert complete["details"] == {"variables": ["approved"]}
    count = rows_client.get(f"{url}/count", query_string={"processInstanceId": "pi-running"})
    assert count.get_json() == {"count": 2}
    after = rows_client.get(url, query_string={"afterTimestamp": "2026-11-23T08:01:00.000+0000"}).get_json()
    assert [op["operationType"] for op in after] == ["Complete"]


# --- incidents and jobs ------------------------------------------------------------------------


def test_incidents(rows_client, world, rows):
    rows.incident("pi-running", id="inc-1", message="SMTP down", configuration="job-9", activity_id="notify")
    rows.incident("pi-running", id="inc-2", type="failedExternalTask", activity_id="archive",
                  created=T0 + timedelta(minutes=1))
    url = f"{API}/incident"
    assert ids(rows_client.get(url)) == ["inc-1", "inc-2"]
    assert ids(rows_client.get(url, query_string={"incidentType": "failedExternalTask"})) == ["inc-2"]
    assert ids(rows_client.get(url, query_string={"activityId": "notify"})) == ["inc-1"]
    assert ids(rows_client.get(url, query_string={"processInstanceId": "pi-done"})) == []
    assert rows_client.get(f"{url}/count", query_string={"processInstanceId": "pi-running"}).get_json() == {"count": 2}
    incident = rows_client.get(f"{url}/inc-1").get_json()
    assert incident["incidentType"] == "failedJob"
    assert incident["incidentMessage"] == "SMTP down"
    assert incident["incidentTimestamp"] == "2026-11-23T08:00:00.000+0000"
    assert incident["processInstanceId"] == "pi-running"
    assert incident["processDefinitionId"] == "birth:1"
    assert incident["activityId"] == "notify"
    assert incident["configuration"] == "job-9"
    assert rows_client.get(f"{url}/nope").status_code == 404


def test_jobs(rows_client, world, rows):
    rows.job("pi-running", id="job-ok")
    rows.job("pi-running", id="job-failing", retries=2, exception_message="timeout", exception_stacktrace="Traceback...")
    rows.job("pi-running", id="job-dead", retries=0, exception_message="refused", due_at=T0 + timedelta(hours=1))
    rows.job("pi-running", id="job-timer", type="timer", due_at=T0 + timedelta(days=30))
    url = f"{API}/job"
    assert ids(rows_client.get(url, query_string={"withException": "true"})) == ["job-failing", "job-dead"]
    assert ids(rows_client.get(url, query_string={"noRetriesLeft": "true"})) == ["job-dead"]
    assert ids(rows_client.get(url, query_string={"timers": "true"})) == ["job-timer"]
    assert rows_client.get(f"{url}/count", query_string={"processInstanceId": "pi-running"}).get_json() == {"count": 4}
    job = rows_client.get(f"{url}/job-dead").get_json()
    assert job["retries"] == 0
    assert job["exceptionMessage"] == "refused"
    assert job["failedActivityId"] == "notify"
    assert job["dueDate"] == "2026-11-23T09:00:00.000+0000"
    assert job["processInstanceId"] == "pi-running"
    assert job["processDefinitionKey"] == "birth"
    stacktrace = rows_client.get(f"{url}/job-failing/stacktrace")
    assert stacktrace.status_code == 200
    assert stacktrace.mimetype == "text/plain"
    assert stacktrace.get_data(as_text=True) == "Traceback..."
    assert rows_client.get(f"{url}/nope").status_code == 404
    assert rows_client.get(f"{url}/nope/stacktrace").status_code == 404
