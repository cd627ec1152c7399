"""Diagrams written as the Modeler writes them, deployed and driven over the REST API, for the
tests of the engine's Camunda fidelity (tests/test_fidelity_*.py)."""
from __future__ import annotations

import io

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs" '
        'targetNamespace="http://bpmn.io/schema/bpmn">\n')


def diagram(key: str, body: str, before: str = "") -> bytes:
    """A definitions file with one executable process `key` holding `body`."""
    return (HEAD + before + f'<bpmn:process id="{key}" isExecutable="true">\n{body}\n</bpmn:process>\n'
            '</bpmn:definitions>\n').encode()


def condition(text: str) -> str:
    return f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{text}</bpmn:conditionExpression>'


def deploy(client, files: dict[str, bytes], **settings):
    data = {"deployment-name": settings.pop("name", "fidelity")}
    data.update(settings)
    for n, (filename, content) in enumerate(files.items()):
        data[f"file{n}"] = (io.BytesIO(content), filename)
    return client.post("/engine-rest/deployment/create", content_type="multipart/form-data", data=data)


def deployed(client, files: dict[str, bytes], **settings) -> dict:
    response = deploy(client, files, **settings)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def start(client, key: str, **variables) -> str:
    body = {"variables": {k: {"value": v} for k, v in variables.items()}}
    response = client.post(f"/engine-rest/process-definition/key/{key}/start", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["id"]


def tasks(client, instance_id: str) -> list[dict]:
    return client.get(f"/engine-rest/task?processInstanceId={instance_id}").get_json()


def task_keys(client, instance_id: str) -> list[str]:
    return sorted(t["taskDefinitionKey"] for t in tasks(client, instance_id))


def complete(client, instance_id: str, activity_id: str, **variables) -> None:
    [task] = [t for t in tasks(client, instance_id) if t["taskDefinitionKey"] == activity_id]
    body = {"variables": {k: {"value": v} for k, v in variables.items()}}
    response = client.post(f"/engine-rest/task/{task['id']}/complete", json=body)
    assert response.status_code == 204, response.get_data(as_text=True)


def state(client, instance_id: str) -> str:
    return client.get(f"/engine-rest/history/process-instance/{instance_id}").get_json()["state"]


def activities(client, instance_id: str) -> list[dict]:
    return client.get(f"/engine-rest/history/activity-instance?processInstanceId={instance_id}").get_json()


def ran(client, instance_id: str) -> list[str]:
    return sorted(a["activityId"] for a in activities(client, instance_id))
