"""The console's routes without a browser (tests/browser/ drives them in Chromium): pages send an
anonymous person to the login form, hide other agencies' work, and the REST routes the console
needs answer in Camunda's shapes."""
from __future__ import annotations

from tests.auth import as_user

FORM_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  id="d" targetNamespace="http://example.org">
  <bpmn:process id="review" name="Xem x\xc3\xa9t" isExecutable="true">
    <bpmn:startEvent id="Start_Filed"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_Review" name="Xem x\xc3\xa9t" camunda:candidateGroups="tu-phap-ho-tich">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="decision" label="K\xe1\xba\xbft qu\xe1\xba\xa3" type="enum">
          <camunda:validation><camunda:constraint name="required" /></camunda:validation>
          <camunda:value id="approve" name="\xc4\x90\xe1\xbb\x93ng \xc3\xbd" /><camunda:value id="refuse" name="T\xe1\xbb\xab ch\xe1\xbb\x91i" />
        </camunda:formField>
        <camunda:formField id="note" label="Ghi ch\xc3\xba" type="string">
          <camunda:validation><camunda:constraint name="maxlength" config="10" /></camunda:validation>
        </camunda:formField>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="End_Done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Start_Filed" targetRef="Task_Review" />
    <bpmn:sequenceFlow id="f2" sourceRef="Task_Review" targetRef="End_Done" />
  </bpmn:process>
</bpmn:definitions>
"""


def _started(engine, tenant="H19.87.001"):
    engine.deploy({"review.bpmn": FORM_BPMN}, name="review")
    instance = engine.start_instance("review", {}, business_key="HS-1", tenant_id=tenant)
    with engine.db.reading() as session:
        from engine import queries
        [task] = queries.tasks.list(session, instance_id=instance)
    return instance, task.id


def _officer(client, agency="H19.87.001", user="officer-a"):
    return as_user(client, user, roles=("officer",), groups=("tu-phap-ho-tich",), agency=agency)


def test_pages_send_an_anonymous_person_to_the_login_form(anonymous):
    answer = anonymous.get("/console/inbox?q=HS-1")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/auth/login?next=/console/inbox?q%3DHS-1"
    assert anonymous.get("/console/track").status_code == 200  # the citizens' page needs no account
    assert anonymous.get("/console/static/console.css").status_code == 200


def test_a_refused_page_is_a_page(client, engine):
    headers = as_user(client, "citizen-1", roles=("citizen",))
    answer = client.get("/console/inbox", headers=headers)
    assert answer.status_code == 403 and answer.mimetype == "text/html"
    assert "Bạn không có quyền xem trang này." in answer.get_data(as_text=True)


def test_the_task_form_with_its_metadata_and_camundas_generated_form(client, engine):
    instance, task_id = _started(engine)
    headers = _officer(client)
    fields = client.get(f"/engine-rest/task/{task_id}/form-fields", headers=headers).get_json()
    assert fields[0] == {"id": "decision", "label": "Kết quả", "type": "enum", "required": True, "readonly": False,
                         "options": [{"id": "approve", "name": "Đồng ý"}, {"id": "refuse", "name": "Từ chối"}],
                         "constraints": {}, "defaultValue": None, "value": None}
    assert fields[1]["constraints"] == {"maxlength": "10"} and fields[1]["required"] is False
    rendered = client.get(f"/engine-rest/task/{task_id}/rendered-form", headers=headers)
    assert rendered.mimetype == "application/xhtml+xml"
    html = rendered.get_data(as_text=True)
    assert 'type="radio" name="decision" value="approve" cam-variable-name="decision"' in html
    tree = client.get(f"/engine-rest/process-instance/{instance}/activity-instances", headers=headers).get_json()
    assert tree["id"] == instance and tree["activityType"] == "processDefinition"
    assert [(c["activityId"], c["parentActivityInstanceId"]) for c in tree["childActivityInstances"]] == [
        ("Task_Review", instance)]


def test_another_agencys_officer_sees_nothing(client, engine):
    instance, task_id = _started(engine)
    stranger = _officer(client, agency="H19.87.002", user="officer-b")
    assert client.get(f"/engine-rest/process-instance/{instance}/activity-instances", headers=stranger).status_code == 404
    assert client.get(f"/engine-rest/task/{task_id}/form-fields", headers=stranger).status_code == 404
    assert client.get(f"/console/tasks/{task_id}", headers=stranger).status_code == 404
    assert client.get(f"/console/instances/{instance}", headers=stranger).status_code == 404
    assert "HS-1" not in client.get("/console/inbox", headers=stranger).get_data(as_text=True)
    assert "HS-1" in client.get("/console/inbox", headers=_officer(client)).get_data(as_text=True)


def test_the_decision_form_answers_in_vietnamese_beside_the_field(client, engine):
    _instance, task_id = _started(engine)
    headers = _officer(client)
    refused = client.post(f"/console/tasks/{task_id}/complete", data={"note": "x" * 11}, headers=headers)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert '<p class="error" id="err-decision">Vui lòng chọn kết quả.</p>' in page
    assert '<p class="error" id="err-note">Tối đa 10 ký tự.</p>' in page
    done = client.post(f"/console/tasks/{task_id}/complete", data={"decision": "approve"}, headers=headers)
    assert done.status_code == 302 and done.headers["Location"] == "/console/inbox"
    with engine.db.reading() as session:
        from engine import queries
        assert queries.tasks.list(session, task_id=task_id) == []


def test_vietnamese_by_default_english_on_request(client, engine):
    headers = _officer(client)
    assert "<h1>Hộp công việc</h1>" in client.get("/console/inbox", headers=headers).get_data(as_text=True)
    client.get("/console/lang/en", headers=headers)
    assert "<h1>Inbox</h1>" in client.get("/console/inbox", headers=headers).get_data(as_text=True)
