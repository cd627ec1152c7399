"""Bounded work per request: a value from a diagram, a variable or a request that would make the
service compute for hours, overflow a column or crash the parser is refused with a 400 naming
the field (or the element), at deploy or at the command, and quickly."""
from __future__ import annotations

import io
import time

import pytest

TIMER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="Begin"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Begin" targetRef="Wait"/>
    <bpmn:intermediateCatchEvent id="Wait"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="T"><bpmn:{kind}>{text}</bpmn:{kind}></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="F2" sourceRef="Wait" targetRef="Review"/>
    <bpmn:userTask id="Review" camunda:priority="${{prio}}"><bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="F3" sourceRef="Review" targetRef="Done"/>
    <bpmn:endEvent id="Done"><bpmn:incoming>F3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


PRIORITY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="prio" isExecutable="true">
    <bpmn:startEvent id="Begin"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Begin" targetRef="Review"/>
    <bpmn:userTask id="Review" camunda:priority="${prio}"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="F2" sourceRef="Review" targetRef="Done"/>
    <bpmn:endEvent id="Done"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def _deploy(client, key, kind, text):
    xml = (PRIORITY if key == "prio" else TIMER.format(key=key, kind=kind, text=text)).encode()
    return client.post("/engine-rest/deployment/create", content_type="multipart/form-data",
                       data={"deployment-name": key, "data": (io.BytesIO(xml), f"{key}.bpmn")})


def _start(client, key, **variables):
    body = {"variables": {name: {"value": value} for name, value in variables.items()}}
    return client.post(f"/engine-rest/process-definition/key/{key}/start", json=body)


@pytest.mark.parametrize("kind, text", [
    ("timeDuration", "P99999999Y"), ("timeDuration", "P300000Y"), ("timeDuration", "PT-5S"),
    ("timeCycle", "R3/P99999999Y"), ("timeDate", "99999-01-01T00:00:00"),
])
def test_an_unbounded_timer_literal_is_refused_at_deploy(client, kind, text):
    started = time.perf_counter()
    response = _deploy(client, "literal", kind, text)
    assert time.perf_counter() - started < 2
    assert response.status_code == 400, response.get_data(as_text=True)
    assert any(p["elementId"] == "Wait" for p in response.get_json()["problems"])


@pytest.mark.parametrize("kind, value", [
    ("timeDuration", "P99999999Y"), ("timeDuration", "P300000Y"), ("timeDuration", "PT-5S"),
    ("timeDuration", "P1000000D"), ("timeCycle", "R5/P99999999Y"), ("timeCycle", "R/PT0S"),
    ("timeDate", "9999-12-31T23:59:59"),
])
def test_an_unbounded_timer_from_a_variable_is_refused_at_the_command(client, kind, value):
    assert _deploy(client, "fromvar", kind, "${delay}").status_code == 200
    started = time.perf_counter()
    response = _start(client, "fromvar", delay=value, prio=1)
    assert time.perf_counter() - started < 2, "a hostile timer must not make the command compute"
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert "Wait" in body["message"] and value in body["message"], body
    assert client.get("/engine-rest/process-instance").get_json() == []


def test_a_sane_timer_from_a_variable_still_waits(client):
    deployed = _deploy(client, "sane", "timeDuration", "${delay}")
    assert deployed.status_code == 200, deployed.get_data(as_text=True)
    assert _start(client, "sane", delay="P30D", prio=1).status_code == 200
    assert len(client.get("/engine-rest/job").get_json()) == 1


def test_a_priority_beyond_the_column_is_a_400_naming_the_element_or_the_field(client):
    assert _deploy(client, "prio", "timeDuration", "PT0S").status_code == 200
    response = _start(client, "prio", prio=2 ** 31)  # a Long, but not the task's 32-bit priority
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "Review" in response.get_json()["message"] and "camunda:priority" in response.get_json()["message"]
    response = _start(client, "prio", prio=2 ** 63)  # not even a Long
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "variables.prio.value" in response.get_json()["fieldErrors"]


@pytest.mark.parametrize("name", ["maxResults", "firstResult"])
def test_paging_beyond_what_a_database_counts_is_a_400_naming_the_field(client, name):
    response = client.get(f"/engine-rest/task?{name}={10 ** 20}")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert name in response.get_json()["fieldErrors"]


def test_an_integer_of_5000_digits_is_a_400_naming_the_field(client):
    body = '{"variables": {"amount": {"value": ' + "9" * 5000 + ', "type": "Long"}}}'
    response = client.post("/engine-rest/process-definition/key/any/start", data=body,
                           content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "variables.amount.value" in response.get_json()["fieldErrors"]


def test_json_nested_5000_deep_is_a_400(client):
    body = '{"variables": {"deep": {"value": ' + "[" * 5000 + "]" * 5000 + "}}}"
    response = client.post("/engine-rest/process-definition/key/any/start", data=body,
                           content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "body" in response.get_json()["fieldErrors"]


def test_a_nul_byte_in_a_string_is_a_400_naming_the_field(client):
    assert _deploy(client, "nul", "timeDuration", "PT0S").status_code == 200
    response = _start(client, "nul", note="ghi chú\x00", prio=1)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "variables.note.value" in response.get_json()["fieldErrors"]
    query = client.get("/engine-rest/task?assignee=a%00b")
    assert query.status_code == 400 and "assignee" in query.get_json()["fieldErrors"]
    form = client.post("/engine-rest/deployment/create", content_type="multipart/form-data",
                       data={"deployment-name": "x\x00y"})
    assert form.status_code == 400 and "deployment-name" in form.get_json()["fieldErrors"]


def test_what_schemathesis_found_is_a_400_not_a_500(client):
    """tests/test_contract_fuzz.py's findings: a version of 23 digits overflowed SQLite's integer,
    a lock of 2^62 ms overflowed the moment it ends, and a multipart part without a value broke
    the NUL check (500 each)."""
    version = client.get("/engine-rest/process-definition/count?version=-10208508081788799680512")
    assert version.status_code == 400 and "version" in version.get_json()["fieldErrors"]
    lock = client.post("/engine-rest/external-task/fetchAndLock",
                       json={"workerId": "w", "maxTasks": 1, "topics": [{"topicName": "t", "lockDuration": 2 ** 62}]})
    assert lock.status_code == 400, lock.get_data(as_text=True)
    body = (b"--b\r\nContent-Disposition: form-data; name=\"dossier\"; filename=\"x\"\r\n\r\n{}\r\n"
            b"--b\r\nContent-Disposition: form-data\r\n\r\n\r\n--b--\r\n")
    unnamed = client.post("/api/dossiers", data=body, content_type="multipart/form-data; boundary=b")
    assert unnamed.status_code < 500, unnamed.get_data(as_text=True)


def test_an_anonymous_caller_is_told_to_log_in_before_anything_else(anonymous):
    assert anonymous.get("/engine-rest/task?assignee=a%00b").status_code == 401
