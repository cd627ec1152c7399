"""True states: how an instance ends shows in its dossier's status; a retried filing with the
same Idempotency-Key gives back the first dossier instead of filing a second."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dossiers.models import Dossier
from dossiers.subjects import still_stands
from tests.auth import logged_in
from tests.birth_examples import birth_declaration
from tests.citizens import start_service


@pytest.fixture
def service(database, monkeypatch):
    return start_service(database, monkeypatch)


def _file(client, headers=None, **changes):
    return client.post("/api/dossiers", json={"procedure": "birth", "declaration": birth_declaration(**changes)},
                       headers=headers or {})


def test_a_cancelled_dossier_shows_cancelled_with_the_reason(service):
    citizen = service.citizen("087084000999")
    filed = _file(citizen).get_json()
    service.drain()
    assert citizen.get(f"/api/dossiers/{filed['code']}").get_json()["state"] not in ("cancelled",)
    admin = logged_in(service.app, service.engine.db)
    with service.engine.db.reading() as session:
        instance = session.get(Dossier, filed["code"]).instance_id
    response = admin.delete(f"/engine-rest/process-instance/{instance}?deleteReason=C%C3%B4ng%20d%C3%A2n%20r%C3%BAt%20h%E1%BB%93%20s%C6%A1")
    assert response.status_code == 204, response.get_data(as_text=True)
    status = citizen.get(f"/api/dossiers/{filed['code']}").get_json()
    assert status["state"] == "cancelled" and status["stateLabel"] == "Đã hủy"
    assert status["reason"] == "Công dân rút hồ sơ"
    assert status["completedAt"] is not None
    assert all(part["state"] in ("not-processed", "approved", "refused", "not-eligible") for part in status["parts"]), status["parts"]
    assert status["timeline"][-1]["state"] == "cancelled"


def test_a_retried_filing_with_the_same_key_returns_the_first_dossier(service):
    citizen = service.citizen("087084000999")
    key = {"Idempotency-Key": "9b1f6a7e-retry-1"}
    first = _file(citizen, key)
    assert first.status_code == 201, first.get_json()
    again = _file(citizen, key)
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["code"] == first.get_json()["code"] and again.headers["Idempotent-Replayed"] == "true"
    with service.engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Dossier)) == 1
    # Another key is another filing (of another child: the same child twice is refused at receipt).
    other = _file(citizen, {"Idempotency-Key": "9b1f6a7e-retry-2"}, child__fullName="Nguyễn Minh Khác")
    assert other.status_code == 201 and other.get_json()["code"] != first.get_json()["code"]


def test_the_same_key_with_another_body_is_a_conflict(service):
    citizen = service.citizen("087084000999")
    key = {"Idempotency-Key": "k-body"}
    assert _file(citizen, key).status_code == 201
    changed = _file(citizen, key, child__fullName="Lê Văn Khác")
    assert changed.status_code == 409, changed.get_json()
    assert "Idempotency-Key" in changed.get_json()["fieldErrors"]


def test_a_key_is_the_filers_own(service):
    key = {"Idempotency-Key": "shared-key"}
    mine = _file(service.citizen("087084000999"), key).get_json()
    theirs = _file(service.citizen("087190001234"), key, child__fullName="Nguyễn Minh Khác")
    assert theirs.status_code == 201 and theirs.get_json()["code"] != mine["code"]


def test_an_overlong_key_is_refused(service):
    response = _file(service.citizen("087084000999"), {"Idempotency-Key": "x" * 300})
    assert response.status_code == 400 and "Idempotency-Key" in response.get_json()["fieldErrors"]


# --- every way an instance ends shows in the status and in an SMS ------------------------------

ENDS_IN_ERROR = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="Definitions_EndsInError" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:error id="Error_Stop" name="Giấy chứng sinh không hợp lệ" errorCode="cannotProceed" />
  <bpmn:process id="ends_in_error" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="dossier.part" value="dossier" /><camunda:property name="dossier.state" value="processing" />
      </camunda:properties></bpmn:extensionElements>
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_Review" />
    <bpmn:userTask id="Task_Review" name="Xem xét" camunda:candidateGroups="tu-phap-ho-tich">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_Review" targetRef="EndEvent_Error" />
    <bpmn:endEvent id="EndEvent_Error" name="Không giải quyết được">
      <bpmn:incoming>Flow_2</bpmn:incoming>
      <bpmn:errorEventDefinition id="ErrorEventDefinition_Stop" errorRef="Error_Stop" />
    </bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def _sent_after_the_outbox_round(service) -> list[str]:
    from agencies.sms import use_gateway
    from handlers.notify import retry_outbox
    from tests.citizens import Recorder
    gateway = Recorder()
    with use_gateway(gateway):
        retry_outbox(service.engine)
    return [sms.text for sms in gateway.sent]


def test_a_cancellation_reaches_the_citizen_by_sms(service):
    citizen = service.citizen("087084000999")
    code = _file(citizen).get_json()["code"]
    service.drain()
    _sent_after_the_outbox_round(service)  # whatever the filing queued
    with service.engine.db.reading() as session:
        instance = session.get(Dossier, code).instance_id
    service.engine.cancel_instance(instance, reason="Hồ sơ nộp nhầm cơ quan")
    assert _sent_after_the_outbox_round(service) == [
        f"Ho so {code} da bi huy. Ly do: Ho so nop nham co quan. Lien he co quan tiep nhan neu can biet them."]
    assert _sent_after_the_outbox_round(service) == []  # once


def test_an_instance_ended_by_an_uncaught_error_shows_terminated_with_the_error(service):
    """Camunda ends an instance whose error end event nothing catches like a none end event: before,
    the dossier said "processing" for ever."""
    citizen = service.citizen("087084000999")
    code = _file(citizen).get_json()["code"]
    service.drain()
    _sent_after_the_outbox_round(service)
    engine = service.engine
    engine.deploy({"ends_in_error.bpmn": ENDS_IN_ERROR.encode()}, name="ends-in-error")
    with engine.db.session() as session:  # the dossier now follows an instance of this diagram
        session.get(Dossier, code).instance_id = ""
    instance = engine.start_instance("ends_in_error", {}, business_key=code)
    assert citizen.get(f"/api/dossiers/{code}").get_json()["state"] == "processing"
    [task] = _tasks(engine, instance)
    engine.complete_task(task)
    status = citizen.get(f"/api/dossiers/{code}").get_json()
    assert (status["state"], status["stateLabel"], status["reason"]) == ("terminated", "Đã dừng giải quyết",
                                                                         "Không giải quyết được")
    assert status["completedAt"] is not None and status["timeline"][-1]["state"] == "terminated"
    assert _sent_after_the_outbox_round(service) == [
        f"Ho so {code} da dung giai quyet. Ly do: Khong giai quyet duoc. Vui long lien he co quan tiep nhan de duoc huong dan."]


def _tasks(engine, instance) -> list[str]:
    from engine import models as m
    with engine.db.reading() as session:
        return [task.id for task in session.query(m.Task).filter(m.Task.instance_id == instance)]


def test_an_end_the_diagram_does_not_mark_shows_completed(service):
    citizen = service.citizen("087084000999")
    code = _file(citizen).get_json()["code"]
    engine = service.engine
    engine.deploy({"ends_plainly.bpmn": ENDS_IN_ERROR.replace(
        '<bpmn:errorEventDefinition id="ErrorEventDefinition_Stop" errorRef="Error_Stop" />', "").replace(
        "ends_in_error", "ends_plainly").encode()}, name="ends-plainly")
    with engine.db.session() as session:
        session.get(Dossier, code).instance_id = ""
    instance = engine.start_instance("ends_plainly", {}, business_key=code)
    [task] = _tasks(engine, instance)
    engine.complete_task(task)
    status = citizen.get(f"/api/dossiers/{code}").get_json()
    assert status["state"] == "completed" and status["completedAt"] is not None


@pytest.mark.parametrize("state, label", [("withdrawn", "Đã rút hồ sơ"), ("terminated", "Đã dừng giải quyết")])
def test_the_other_end_states_have_labels_and_free_the_subject(service, state, label):
    """A withdrawn (issue 15's withdrawal marks it) or terminated dossier no longer stands: the
    same child may be filed again."""
    citizen = service.citizen("087084000999")
    code = _file(citizen).get_json()["code"]
    with service.engine.db.session() as session:
        dossier = session.get(Dossier, code)
        dossier.state = state
        # as the projection ends it (dossiers/projection.py): a withdrawn or terminated dossier frees its subject
        dossier.subject_standing = still_stands("birth", state, {})
    assert citizen.get(f"/api/dossiers/{code}").get_json()["stateLabel"] == label
    assert _file(citizen).status_code == 201
