"""A citizen withdraws a dossier no officer has decided yet (rút hồ sơ): the diagrams' event
subprocess (message `dossier.withdrawn`, interrupting) stops everything under way, the status
and the tracking answer say "Đã rút", and the citizen gets an SMS without Vietnamese marks."""
from __future__ import annotations

import pytest

from agencies.sms import use_gateway
from dossiers.models import Dossier
from engine import models as m
from tests.birth_examples import another_child
from tests.citizens import Recorder, start_service
from tests.death_examples import death_declaration

CITIZEN = "087084000999"
AGENCY = "H19.87.001"


@pytest.fixture
def service(database, monkeypatch):
    return start_service(database, monkeypatch)


def file(service, procedure="birth", declaration=None) -> dict:
    declaration = declaration or another_child()
    response = service.citizen(CITIZEN).post("/api/dossiers", json={"procedure": procedure, "declaration": declaration})
    assert response.status_code == 201, response.get_json()
    with use_gateway(Recorder()):
        service.drain()
    return response.get_json()


def instance_of(service, code: str) -> str:
    with service.engine.db.reading() as session:
        return session.get(Dossier, code).instance_id


def test_a_citizen_withdraws_an_undecided_dossier(service):
    filed = file(service)
    code = filed["code"]
    citizen = service.citizen(CITIZEN)
    admin = service.officer("ho-tich", AGENCY)
    instance = instance_of(service, code)
    assert [t["taskDefinitionKey"] for t in admin.get(f"/engine-rest/task?processInstanceId={instance}").get_json()]

    response = citizen.post(f"/api/dossiers/{code}/withdrawal", json={"reason": "Gia đình chuyển nơi ở, sẽ nộp lại"})

    assert response.status_code == 200, response.get_json()
    status = response.get_json()
    assert (status["state"], status["stateLabel"]) == ("withdrawn", "Đã rút hồ sơ")
    assert status["reason"] == "Gia đình chuyển nơi ở, sẽ nộp lại"
    assert status["completedAt"] is not None
    assert all(part["state"] == "not-processed" for part in status["parts"]), status["parts"]
    assert status["timeline"][-1]["state"] == "withdrawn"
    # The officers' inbox no longer holds it.
    assert admin.get(f"/engine-rest/task?processInstanceId={instance}").get_json() == []
    tracked = service.app.test_client().post("/api/tracking", json={"code": code, "secret": filed["trackingSecret"]})
    assert (tracked.get_json()["state"], tracked.get_json()["stateLabel"]) == ("withdrawn", "Đã rút hồ sơ")

    recorder = Recorder()
    with use_gateway(recorder):
        service.drain()
    [sms] = [s for s in recorder.sent if s.dossier_code == code]
    assert sms.text == f"Ho so {code} da duoc rut theo yeu cau cua ong/ba. Ly do: Gia dinh chuyen noi o, se nop lai"
    with service.engine.db.reading() as session:
        rows = {r.activity_id: (r.activity_type, r.end_time is not None, r.canceled)
                for r in session.query(m.ActivityInstance).filter(m.ActivityInstance.instance_id == instance)}
        assert session.get(m.ProcessInstance, instance).state == "COMPLETED"
    assert rows["SubProcess_Withdrawal"] == ("subProcess", True, False)
    assert rows["Start_Withdrawn"] == ("messageStartEvent", True, False)
    assert rows["Task_BirthReview"][2] is True  # cancelled, as Camunda records an interrupted task
    assert "End_Completed" not in rows

    again = citizen.post(f"/api/dossiers/{code}/withdrawal", json={"reason": "lần nữa"})
    assert again.status_code == 409 and "Đã rút" in again.get_json()["message"]


def test_no_withdrawal_once_an_officer_decided_a_part(service):
    code = file(service)["code"]
    officer = service.officer("ho-tich", AGENCY)
    [task] = officer.get(f"/engine-rest/task?processInstanceBusinessKey={code}").get_json()
    assert officer.post(f"/engine-rest/task/{task['id']}/complete", json={"variables": {
        "decision": {"value": "approve"}}}).status_code == 204

    response = service.citizen(CITIZEN).post(f"/api/dossiers/{code}/withdrawal", json={"reason": "Đổi ý"})

    assert response.status_code == 409
    assert "đã có thủ tục được cán bộ giải quyết" in response.get_json()["message"]
    assert service.citizen(CITIZEN).get(f"/api/dossiers/{code}").get_json()["state"] != "withdrawn"


def test_a_reason_is_required_and_only_the_owner_or_the_agency_may_withdraw(service):
    code = file(service)["code"]
    missing = service.citizen(CITIZEN).post(f"/api/dossiers/{code}/withdrawal", json={"reason": "  "})
    assert missing.status_code == 400 and "reason" in missing.get_json()["fieldErrors"]
    stranger = service.citizen("087190001234").post(f"/api/dossiers/{code}/withdrawal", json={"reason": "x"})
    assert stranger.status_code == 404
    other_agency = service.officer("khac", "H19.87.999").post(f"/api/dossiers/{code}/withdrawal", json={"reason": "x"})
    assert other_agency.status_code == 404
    # The receiving agency's desk officer withdraws it on the citizen's behalf.
    desk = service.officer("mot-cua", AGENCY, groups=("mot-cua",))
    response = desk.post(f"/api/dossiers/{code}/withdrawal", json={"reason": "Công dân đến rút trực tiếp"})
    assert response.status_code == 200 and response.get_json()["state"] == "withdrawn"


def test_a_death_dossier_is_withdrawn_the_same_way(service):
    code = file(service, "death", death_declaration())["code"]
    response = service.citizen(CITIZEN).post(f"/api/dossiers/{code}/withdrawal", json={"reason": "Khai nhầm"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "withdrawn"
