"""A decree changes the birth procedure while dossiers are running: the operator holds them, deploys
the new version of workflows/birth_linked.bpmn, checks the migration plan, moves the running
dossiers to it and releases them; they finish on the new version, under its deadlines. Over HTTP
only, on the live service with the real diagram and handlers (tests/portal.py)."""
from __future__ import annotations

import pytest

from engine.clock import ManualClock
from tests.birth_examples import another_child
from tests.live import wait_for
from tests.portal import MONDAY_9AM, WORKFLOWS, running_service

# The decree: a residence registration that needs verification gets 7 working days instead of 5.
OLD_RULE = ('name="Gia hạn: cần xác minh (5 ngày làm việc)"', '<camunda:property name="workingDays" value="5" />',
            'name="Cần xác minh (gia hạn 5 ngày làm việc)"')
NEW_RULE = ('name="Gia hạn: cần xác minh (7 ngày làm việc)"', '<camunda:property name="workingDays" value="7" />',
            'name="Cần xác minh (gia hạn 7 ngày làm việc)"')


RESIDENCE_DUE = "2026-12-02T17:00:00+07:00"  # at receipt: 2 working days


def birth_linked_v2() -> bytes:
    text = (WORKFLOWS / "birth_linked.bpmn").read_text(encoding="utf-8")
    for old, new in zip(OLD_RULE, NEW_RULE):
        assert text.count(old) == 1, old  # the diagram still says what this test changes
        text = text.replace(old, new)
    return text.encode("utf-8")


@pytest.fixture
def service(database, monkeypatch):
    monkeypatch.setenv("LIENTHONG_BHYT_CARD_DELAY_SECONDS", "0")
    with running_service(database, ManualClock(MONDAY_9AM), "birth") as portal:
        yield portal


def instance_of(service, code: str) -> dict:
    [instance] = service.rest.get(f"/process-instance?businessKey={code}")
    return instance


def test_a_running_birth_dossier_moves_to_the_new_version_and_finishes_under_its_deadline(service):
    migrated, kept = (service.file(another_child())["code"] for _ in range(2))
    for code in (migrated, kept):
        service.wait_part(code, "birth", "processing")  # with the civil-registry officer
    v1 = instance_of(service, migrated)["definitionId"]

    # The operator: hold the dossier, deploy the decree's version, check the plan, migrate, release.
    instance_id = instance_of(service, migrated)["id"]
    service.rest.call("PUT", f"/process-instance/{instance_id}/suspended", json={"suspended": True}, expect=204)
    [task] = service.inbox("tu-phap-ho-tich", migrated)
    assert task["suspended"] is True
    deployed = service.http.post(f"{service.base}/engine-rest/deployment/create", timeout=30,
                                 data={"deployment-name": "nghi-dinh-moi"},
                                 files={"birth_linked.bpmn": ("birth_linked.bpmn", birth_linked_v2())})
    assert deployed.status_code == 200, deployed.text
    [v2] = deployed.json()["deployedProcessDefinitions"]
    plan = service.rest.post("/migration/generate", {"sourceProcessDefinitionId": v1, "targetProcessDefinitionId": v2})
    assert ["Task_BirthReview"] in [i["sourceActivityIds"] for i in plan["instructions"]]
    assert service.rest.post("/migration/validate", plan) == {"instructionReports": [], "variableReports": {}}
    service.rest.post("/migration/execute", {"migrationPlan": plan, "processInstanceIds": [instance_id]}, expect=204)
    service.rest.call("PUT", f"/process-instance/{instance_id}/suspended", json={"suspended": False}, expect=204)

    [moved] = service.inbox("tu-phap-ho-tich", migrated)  # the same task, still with the same officers
    assert (moved["id"], moved["processDefinitionId"], moved["suspended"]) == (task["id"], v2, False)
    for code in (migrated, kept):
        service.decide("tu-phap-ho-tich", code, "approve")
        service.wait_part(code, "birth", "approved")
        service.decide("cong-an", code, "verify", note="Cần xác minh nơi cư trú")
    due = {code: wait_for(lambda c=code: service.part(c, "residence"),
                          lambda part: part["state"] == "processing" and part["dueAt"] != RESIDENCE_DUE, timeout=20)["dueAt"]
           for code in (migrated, kept)}
    assert ("residence", "verifying") in [(e["part"], e["state"]) for e in service.status(migrated)["timeline"]]
    assert due[kept] == "2026-12-07T17:00:00+07:00"  # 5 working days after Monday 30 November
    assert due[migrated] == "2026-12-09T17:00:00+07:00"  # the decree's 7

    for code in (migrated, kept):
        service.decide("cong-an", code, "approve")
        service.decide("bhxh", code, "approve")
        service.wait_dossier(code, "completed")
    history = service.rest.get(f"/history/process-instance/{instance_id}")
    assert (history["state"], history["processDefinitionId"], history["processDefinitionVersion"]) == ("COMPLETED", v2, 2)
    assert service.rest.get(f"/history/process-instance/{instance_of_history(service, kept)}")["processDefinitionId"] == v1
    operations = [o["operationType"] for o in service.rest.get(f"/history/user-operation?processInstanceId={instance_id}")
                  if o["entityType"] == "ProcessInstance"]
    assert ["Suspend", "Migrate", "Activate"] == [o for o in operations if o in ("Suspend", "Migrate", "Activate")]
    residence = [a for a in service.rest.get(f"/history/activity-instance?processInstanceId={instance_id}")
                 if a["activityId"] == "Task_ResidenceDueVerify"]
    assert [(a["activityName"], a["processDefinitionId"]) for a in residence] == [
        ("Gia hạn: cần xác minh (7 ngày làm việc)", v2)]


def instance_of_history(service, code: str) -> str:
    [instance] = service.rest.get(f"/history/process-instance?processInstanceBusinessKey={code}")
    return instance["id"]
