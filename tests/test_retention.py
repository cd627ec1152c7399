"""History and personal-data retention (issue 14): camunda:historyTimeToLive is read at deploy and
stored; POST /engine-rest/history/cleanup (operators) removes, in batches, the history of instances
ended longer ago than that, and erases the declarations, attachments and printed forms of dossiers
ended longer ago than LIENTHONG_DOSSIER_RETENTION_DAYS. Before, both grew forever."""
from __future__ import annotations

import io
import json
from datetime import time, timedelta

import pytest

from dossiers.models import Dossier, DossierAttachment
from dossiers.retention import DEFAULT_RETENTION_DAYS, RetentionSettings
from engine import models as m
from tests import documents
from tests.auth import logged_in
from tests.birth_examples import another_child
from tests.citizens import start_service

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="Definitions_{key}" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{key}" isExecutable="true" {ttl}>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_Review" />
    <bpmn:userTask id="Task_Review" name="Xem xét" camunda:candidateGroups="tu-phap-ho-tich">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_Review" targetRef="EndEvent_1" />
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def service(database, monkeypatch):
    return start_service(database, monkeypatch)


def _deploy(client, key: str, ttl: str | None):
    xml = DIAGRAM.format(key=key, ttl=f'camunda:historyTimeToLive="{ttl}"' if ttl is not None else "")
    return client.post("/engine-rest/deployment/create", content_type="multipart/form-data",
                       data={"deployment-name": key, "data": (io.BytesIO(xml.encode()), f"{key}.bpmn")})


def _ended_instance(service, key: str) -> str:
    engine = service.engine
    instance = engine.start_instance(key, {})
    with engine.db.reading() as session:
        task = session.query(m.Task).filter(m.Task.instance_id == instance).one().id
    engine.complete_task(task)
    return instance


def _operator(service):
    return logged_in(service.app, service.engine.db, ("van-hanh", "van-hanh-password"), roles=("operator",))


def test_history_time_to_live_is_read_at_deploy_and_shown(service):
    admin = logged_in(service.app, service.engine.db)
    assert _deploy(admin, "kept_30_days", "P30D").status_code == 200
    assert _deploy(admin, "kept_days_as_number", "180").status_code == 200
    assert _deploy(admin, "kept_forever", None).status_code == 200
    shown = {d["key"]: d["historyTimeToLive"] for d in admin.get("/engine-rest/process-definition").get_json()}
    assert (shown["kept_30_days"], shown["kept_days_as_number"], shown["kept_forever"]) == (30, 180, None)


@pytest.mark.parametrize("ttl", ["forever", "P1M", "P99999999D", "-5"])
def test_a_history_time_to_live_that_is_not_days_is_refused_at_deploy(service, ttl):
    admin = logged_in(service.app, service.engine.db)
    response = _deploy(admin, "badly_kept", ttl)
    assert response.status_code == 400, response.get_json()
    message = response.get_json()["message"]
    assert "badly_kept.bpmn" in message and "badly_kept" in message and "historyTimeToLive" in message


def test_cleanup_removes_the_history_past_its_time_to_live_in_batches(service, monkeypatch):
    monkeypatch.setenv("LIENTHONG_HISTORY_CLEANUP_BATCH", "2")
    admin = logged_in(service.app, service.engine.db)
    _deploy(admin, "kept_30_days", "P30D")
    _deploy(admin, "kept_forever", None)
    old = [_ended_instance(service, "kept_30_days") for _ in range(5)]
    forever = _ended_instance(service, "kept_forever")
    running = service.engine.start_instance("kept_30_days", {})
    service.clock.advance(days=20)
    recent = _ended_instance(service, "kept_30_days")
    service.clock.advance(days=11)  # the first five ended 31 days ago, `recent` 11 days ago

    officer = service.officer("can-bo", "H19.87.001")
    assert officer.post("/engine-rest/history/cleanup").status_code == 403  # operators (and administrators) only
    answer = _operator(service).post("/engine-rest/history/cleanup?immediatelyDue=true")
    assert answer.status_code == 200, answer.get_json()
    report = answer.get_json()
    assert (report["removedInstances"], report["historyBatches"]) == (5, 3)
    assert report["removedHistoryRows"] > 5  # their activity instances and operations too
    for instance in old:
        assert admin.get(f"/engine-rest/history/process-instance/{instance}").status_code == 404
    with service.engine.db.reading() as session:
        assert session.query(m.ActivityInstance).filter(m.ActivityInstance.instance_id.in_(old)).count() == 0
        assert session.query(m.UserOperation).filter(m.UserOperation.instance_id.in_(old)).count() == 0
    for instance in (forever, running, recent):
        assert admin.get(f"/engine-rest/history/process-instance/{instance}").status_code == 200
    assert _operator(service).post("/engine-rest/history/cleanup").get_json()["removedInstances"] == 0


def test_personal_data_are_erased_after_the_retention_period(service, monkeypatch):
    monkeypatch.setenv("LIENTHONG_DOSSIER_RETENTION_DAYS", "10")
    citizen = service.citizen("087084000999")
    ended = citizen.post("/api/dossiers", data={"dossier": json.dumps(
        {"procedure": "birth", "declaration": another_child()}),
        "giay-chung-sinh": (io.BytesIO(documents.pdf()), "gcs.pdf", "application/pdf")},
        content_type="multipart/form-data").get_json()["code"]
    going_on = citizen.post("/api/dossiers", json={"procedure": "birth", "declaration": another_child()}).get_json()["code"]
    with service.engine.db.reading() as session:
        instance = session.get(Dossier, ended).instance_id
    service.engine.cancel_instance(instance, reason="Công dân rút hồ sơ")
    service.clock.advance(days=9)
    assert _operator(service).post("/engine-rest/history/cleanup").get_json()["erasedDossiers"] == 0
    service.clock.advance(days=2)
    assert _operator(service).post("/engine-rest/history/cleanup").get_json()["erasedDossiers"] == 1
    with service.engine.db.reading() as session:
        erased, kept = session.get(Dossier, ended), session.get(Dossier, going_on)
        assert erased.declaration == {"erased": True, "parts": ["birth", "residence", "bhyt"]}
        assert erased.phone is None and erased.erased_at is not None
        assert session.query(DossierAttachment).filter(DossierAttachment.dossier_code == ended).count() == 0
        assert kept.declaration["child"]["fullName"] and kept.erased_at is None
    status = citizen.get(f"/api/dossiers/{ended}").get_json()  # the status stays, without personal data
    assert status["state"] == "cancelled" and status["attachments"] == []


def test_the_settings_and_the_window(monkeypatch):
    assert RetentionSettings.from_environment().retention == timedelta(days=DEFAULT_RETENTION_DAYS)
    monkeypatch.setenv("LIENTHONG_HISTORY_CLEANUP_WINDOW", "22:00-06:00")
    settings = RetentionSettings.from_environment()
    assert settings.open_at(time(23, 30)) and settings.open_at(time(5, 59)) and not settings.open_at(time(12, 0))
    monkeypatch.setenv("LIENTHONG_HISTORY_CLEANUP_BATCH", "0")
    with pytest.raises(ValueError, match="LIENTHONG_HISTORY_CLEANUP_BATCH"):
        RetentionSettings.from_environment()


def test_the_workers_clean_up_only_inside_the_window(service, monkeypatch):
    from lienthong.cli import CleanupChore
    admin = logged_in(service.app, service.engine.db)
    _deploy(admin, "kept_30_days", "P30D")
    _ended_instance(service, "kept_30_days")
    service.clock.advance(days=31)  # Monday 09:00 in Hanoi + 31 days: 09:00 local
    closed = CleanupChore(service.engine, RetentionSettings(window=(time(22, 0), time(6, 0))))
    assert closed() == 0
    opened = CleanupChore(service.engine, RetentionSettings(window=(time(8, 0), time(10, 0))))
    assert opened() == 1 and opened() == 0
