"""Helpers for the construct tests: Modeler-style diagrams deployed and driven over the REST API."""
from __future__ import annotations

import io
import json

API = "/engine-rest"

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_{key}" '
    'targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.20.0">\n'
)


def diagram(key: str, body: str, extra: str = "") -> bytes:
    """A process `key` whose content is `body` (flows included), as the Modeler writes it."""
    return (HEAD.format(key=key) + f'  <bpmn:process id="{key}" isExecutable="true">\n{body}\n  </bpmn:process>\n'
            + extra + "</bpmn:definitions>\n").encode()


def chain(*nodes: str) -> str:
    """Sequence flows between consecutive element ids."""
    return "\n".join(f'<bpmn:sequenceFlow id="F_{a}_{b}" sourceRef="{a}" targetRef="{b}" />'
                     for a, b in zip(nodes, nodes[1:]))


def deploy(client, files: dict[str, bytes]):
    data = {"deployment-name": "constructs"}
    for name, content in files.items():
        data[name] = (io.BytesIO(content), name)
    return client.post(f"{API}/deployment/create", data=data, content_type="multipart/form-data")


def deployed(client, files: dict[str, bytes]) -> dict:
    response = deploy(client, files)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def start(client, key: str, business_key: str | None = None, **variables) -> str:
    body = {"variables": {name: typed(value) for name, value in variables.items()}}
    if business_key:
        body["businessKey"] = business_key
    response = client.post(f"{API}/process-definition/key/{key}/start", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["id"]


def typed(value) -> dict:
    if isinstance(value, bool):
        return {"value": value, "type": "Boolean"}
    if isinstance(value, int):
        return {"value": value, "type": "Integer"}
    if isinstance(value, str):
        return {"value": value, "type": "String"}
    return {"value": json.dumps(value), "type": "Json"}


def variables(client, instance_id: str) -> dict:
    answer = client.get(f"{API}/process-instance/{instance_id}/variables").get_json()
    return {name: _value(v) for name, v in answer.items()}


def _value(entry):
    if entry.get("type") == "Json" and isinstance(entry.get("value"), str):
        return json.loads(entry["value"])
    return entry.get("value")


def tasks(client, instance_id: str) -> list[dict]:
    return client.get(f"{API}/task", query_string={"processInstanceId": instance_id}).get_json()


def complete(client, task_id: str, **values) -> None:
    response = client.post(f"{API}/task/{task_id}/complete",
                           json={"variables": {name: typed(value) for name, value in values.items()}})
    assert response.status_code == 204, response.get_data(as_text=True)


def activity_history(client, instance_id: str) -> list[dict]:
    return client.get(f"{API}/history/activity-instance",
                      query_string={"processInstanceId": instance_id, "sortBy": "startTime", "sortOrder": "asc"}).get_json()


def state(client, instance_id: str) -> str:
    return client.get(f"{API}/history/process-instance/{instance_id}").get_json()["state"]
