"""Over HTTP: every deploy refusal names file, element id and reason and stores nothing; two
officers completing the same task at once get one 204 and one 409."""
from __future__ import annotations

import re
import threading
import time

import pytest

from tests.auth import ensure_account
from tests.conftest import FIXTURES
from tests.live import Rest, live_server

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="p">&lol4;</bpmn:process></bpmn:definitions>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="p" name="&secret;"/></bpmn:definitions>"""

REFUSALS = [
    # (file, its content, element id named, words the reason must contain)
    ("invalid_unknown_topic.bpmn", None, "Task_JavaDelegate", "camunda:class"),
    ("invalid_condition.bpmn", None, None, "condition"),
    ("invalid_decision_ref.bpmn", None, None, "no_such_decision"),
    ("invalid_called_element.bpmn", None, None, "no_such_process"),
    ("invalid_script_task.bpmn", None, None, "script"),
    ("invalid_not_bpmn.bpmn", None, None, "not a BPMN 2.0 file"),
    ("bomb.bpmn", BILLION_LAUGHS, None, "DOCTYPE"),
    ("xxe.bpmn", EXTERNAL_ENTITY, None, "DOCTYPE"),
    ("broken.bpmn", b"<bpmn:definitions", None, "not well-formed XML"),
    ("notes.txt", b"hello", None, "not a BPMN"),
]


def _deploy(client, name, content):
    return client.post("/engine-rest/deployment/create", content_type="multipart/form-data",
                       data={"deployment-name": "refused", "data": (__import__("io").BytesIO(content), name)})


@pytest.mark.parametrize("name, content, element, reason", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_deploy_refusal_names_file_element_and_reason(client, name, content, element, reason):
    content = content if content is not None else (FIXTURES / "bpmn" / name).read_bytes()
    started = time.perf_counter()
    response = _deploy(client, name, content)
    elapsed = time.perf_counter() - started
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    problems = body["problems"]
    assert problems and all(p["file"] == name for p in problems)
    assert any(reason in p["reason"] for p in problems), problems
    if element:
        assert any(p["elementId"] == element for p in problems), problems
    assert "/etc/passwd" not in response.get_data(as_text=True) and "root:" not in response.get_data(as_text=True)
    assert elapsed < 2, "hostile XML must be refused quickly"
    assert client.get("/engine-rest/deployment").get_json() == []
    assert client.get("/engine-rest/process-definition").get_json() == []


def test_each_problem_of_a_file_is_reported_at_once(client):
    content = re.sub(rb'(<bpmn:process [^>]*>)', rb'\1<bpmn:scriptTask id="Task_Extra" scriptFormat="groovy"/>',
                     (FIXTURES / "bpmn" / "invalid_condition.bpmn").read_bytes(), count=1)
    problems = _deploy(client, "two.bpmn", content).get_json()["problems"]
    assert {p["elementId"] for p in problems} >= {"Flow_Large", "Task_Extra"}, problems


def test_two_officers_completing_one_task_one_wins_the_other_gets_409(engine):
    with live_server(engine, worker=False) as base:
        rest = Rest(base)
        files = [("data", ("quickstart.bpmn", (FIXTURES / "bpmn" / "dialect_message_start.bpmn").read_bytes()))]
        rest.call("POST", "/deployment/create", files=files)
        rest.post("/message", {"messageName": "showcase.start", "businessKey": "HS-9"})
        [task] = rest.get("/task", params={"processInstanceBusinessKey": "HS-9"})
        barrier, statuses = threading.Barrier(2), []
        users = {user: ensure_account(engine.db, user) for user in ("an", "binh")}

        def complete(user):
            barrier.wait()
            response = rest.session.post(f"{rest.base}/task/{task['id']}/complete", json={}, auth=users[user], timeout=30)
            statuses.append(response.status_code)

        threads = [threading.Thread(target=complete, args=(u,)) for u in ("an", "binh")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses) == [204, 409]
        [history] = rest.get("/history/process-instance", params={"processInstanceBusinessKey": "HS-9"})
        assert history["state"] == "COMPLETED"
        completes = rest.get("/history/user-operation", params={"operationType": "Complete"})
        assert len(completes) == 1
