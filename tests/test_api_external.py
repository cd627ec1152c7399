"""The external-task API's topic filters, extension properties, long polling and lock ownership."""
from __future__ import annotations

import io
import threading
import time

from tests.auth import logged_in
from tests.conftest import FIXTURES

REST = "/engine-rest"


def _deploy_and_start(client, business_keys):
    diagram = (FIXTURES.parent / "clients" / "remote_worker.bpmn").read_bytes()
    client.post(f"{REST}/deployment/create", content_type="multipart/form-data",
                data={"data": (io.BytesIO(diagram), "remote_worker.bpmn")})
    for key in business_keys:
        response = client.post(f"{REST}/process-definition/key/remote_worker/start",
                               json={"businessKey": key, "variables": {"region": {"value": key.lower()}}})
        assert response.status_code == 200, response.get_data(as_text=True)


def _fetch(client, worker="w1", timeout=None, **topic):
    body = {"workerId": worker, "maxTasks": 10,
            "topics": [{"topicName": "clients.score", "lockDuration": 60000, **topic}]}
    if timeout is not None:
        body["asyncResponseTimeout"] = timeout
    response = client.post(f"{REST}/external-task/fetchAndLock", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_process_variables_filter_and_extension_properties(client):
    _deploy_and_start(client, ["NORTH", "SOUTH"])
    [north] = _fetch(client, processVariables={"region": "north"}, includeExtensionProperties=True)
    assert north["businessKey"] == "NORTH"
    assert north["extensionProperties"] == {"worker": "external"}
    [south] = _fetch(client, processDefinitionKeyIn=["remote_worker"])
    assert south["businessKey"] == "SOUTH"
    assert "extensionProperties" not in south
    assert _fetch(client, processDefinitionKeyIn=["other_process"]) == []


def test_only_the_lock_owner_completes(client):
    _deploy_and_start(client, ["ONE"])
    [task] = _fetch(client, worker="w1")
    refused = client.post(f"{REST}/external-task/{task['id']}/complete", json={"workerId": "w2"})
    assert refused.status_code == 400
    assert "w2" in refused.get_json()["message"]
    # The diagram's gateway needs `score`: completing without it is refused, naming the element,
    # and nothing changes (the task is still locked by w1 and can be completed properly).
    missing = client.post(f"{REST}/external-task/{task['id']}/complete", json={"workerId": "w1"})
    assert missing.status_code == 400
    assert "score" in missing.get_json()["message"]
    done = client.post(f"{REST}/external-task/{task['id']}/complete",
                       json={"workerId": "w1", "variables": {"score": {"value": 70, "type": "Integer"}}})
    assert done.status_code == 204
    [accepted] = client.get(f"{REST}/task", query_string={"processInstanceBusinessKey": "ONE"}).get_json()
    assert accepted["taskDefinitionKey"] == "Task_Accepted"


def test_long_polling_waits_for_work_and_answers_when_it_comes(app, client, engine):
    _deploy_and_start(client, [])
    started = time.monotonic()
    assert _fetch(client, timeout=300) == []
    assert time.monotonic() - started >= 0.28, "an empty long poll waits for its timeout"

    # A task that arrives while a worker is polling is handed to it before the timeout.
    other = logged_in(app, engine.db)
    threading.Timer(0.3, lambda: other.post(f"{REST}/process-definition/key/remote_worker/start", json={"businessKey": "LATE"})).start()
    started = time.monotonic()
    tasks = _fetch(client, timeout=10000)
    assert [t["businessKey"] for t in tasks] == ["LATE"]
    assert time.monotonic() - started < 5
