"""Tracking without an account: the code and the secret given at filing (and by SMS), no personal
data in the answer, the same 404 for a wrong secret and an unknown code, rate limits."""
from __future__ import annotations

import json
import logging
import re

import pytest
from sqlalchemy import select

from dossiers.models import Dossier
from engine import models as m
from agencies.models import SmsOutbox
from agencies.sms import LogSink, use_gateway
from tests.birth_examples import another_child
from tests.citizens import Recorder, start_service

SECRET = re.compile(r"[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}")
PERSONAL = ("Nguyễn", "Trần", "087084000999", "087190001234", "0912345678", "Ấp 1", "12/2015")


@pytest.fixture
def service(database, monkeypatch):
    return start_service(database, monkeypatch)


def file(service, client=None, **changes) -> dict:
    client = client or service.citizen("087084000999")
    response = client.post("/api/dossiers", json={"procedure": "birth", "declaration": another_child(**changes)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def track(client, code, secret, **environ):
    return client.post("/api/tracking", json={"code": code, "secret": secret}, environ_base=environ)


def test_the_secret_is_given_once_stored_hashed_and_in_no_variable(service):
    filed = file(service)
    code, secret = filed["code"], filed["trackingSecret"]
    assert SECRET.fullmatch(secret)
    with service.engine.db.reading() as session:
        stored = session.get(Dossier, code).tracking_secret_hash
        variables = " ".join(session.scalars(select(m.Variable.value_json)))
    assert stored.startswith("$argon2id$") and secret not in stored
    assert secret not in variables and secret.replace("-", "") not in variables
    assert "trackingSecret" not in service.citizen("087084000999").get(f"/api/dossiers/{code}").get_json()
    assert file(service)["trackingSecret"] != secret


def test_the_receipt_sms_carries_the_secret_and_the_outbox_keeps_it_masked(service, caplog):
    filed = file(service)
    code, secret = filed["code"], filed["trackingSecret"]
    gateway = Recorder()
    with use_gateway(gateway):
        service.drain()
    first, receipt = gateway.sent[:2]
    assert (first.to, first.reference, first.dossier_code) == ("0912345678", f"queued:tracking:{code}", code)
    assert f"Ma tra cuu ho so {code}: {secret}." in first.text and "[[" not in first.text
    assert "da duoc tiep nhan" in receipt.text and secret not in receipt.text
    with service.engine.db.reading() as session:
        rows = [(row.state, row.text) for row in
                session.scalars(select(SmsOutbox).where(SmsOutbox.dossier_code == code).order_by(SmsOutbox.id))]
    assert rows[0][0] == "sent" and secret not in rows[0][1] and "*" * len(secret) in rows[0][1]
    assert all(secret not in text for _, text in rows)

    # The log sink (no gateway configured) never writes the secret.
    second = file(service)
    with use_gateway(LogSink()), caplog.at_level(logging.INFO, logger="lienthong.handlers.notify"):
        service.drain()
    logged = [r for r in caplog.records if r.getMessage() == "sms" and r.dossier == second["code"]]
    assert "Ma tra cuu" in logged[0].text and second["trackingSecret"] not in logged[0].text
    assert all(second["trackingSecret"] not in json.dumps(r.__dict__, default=str) for r in caplog.records)


def test_tracking_answers_progress_without_personal_data(service):
    filed = file(service)
    with use_gateway(Recorder()):
        service.drain()
    anonymous = service.app.test_client()
    response = track(anonymous, filed["code"], filed["trackingSecret"].lower().replace("-", " "))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["code"], body["procedure"], body["agencyCode"]) == (filed["code"], "birth", "H19.87.001")
    assert body["agencyName"] == "Ủy ban nhân dân xã Mỹ An"
    assert body["receivedAt"] == "2026-11-30T09:00:00+07:00" and body["dueAt"] == "2026-12-03T17:00:00+07:00"
    birth = body["parts"][0]
    assert set(birth) == {"part", "name", "state", "stateLabel", "agency", "receivedAt", "dueAt", "completedAt", "overdue"}
    assert (birth["part"], birth["state"], birth["agency"]) == ("birth", "processing", "Công chức tư pháp – hộ tịch (UBND xã)")
    assert [p["part"] for p in body["parts"]] == ["birth", "residence", "bhyt"]
    assert body["timeline"][0]["title"] == "Công dân nộp tờ khai liên thông"
    text = response.get_data(as_text=True)
    for personal in PERSONAL:
        assert personal not in text
    assert not re.search(r"\d{9,}", text)  # no ID number of any kind
    # The secret travels in the body only: a GET with it in the URL is not a route.
    assert anonymous.get(f"/api/tracking?code={filed['code']}&secret={filed['trackingSecret']}").status_code == 405


def test_results_and_notes_are_not_shown(service):
    filed = file(service)
    with use_gateway(Recorder()):
        service.drain()
    officer = service.officer("ho-tich", "H19.87.001")
    [task] = officer.get(f"/engine-rest/task?processInstanceBusinessKey={filed['code']}").get_json()
    assert officer.post(f"/engine-rest/task/{task['id']}/complete", json={"variables": {
        "decision": {"value": "approve"}, "note": {"value": "Đã đối chiếu giấy chứng sinh số 4471"}}}).status_code == 204
    with use_gateway(Recorder()):
        service.drain()
    status = service.citizen("087084000999").get(f"/api/dossiers/{filed['code']}").get_json()
    child_id = status["parts"][0]["result"]["childIdNumber"]
    body = track(service.app.test_client(), filed["code"], filed["trackingSecret"])
    assert body.status_code == 200
    birth = body.get_json()["parts"][0]
    assert birth["state"] == "approved" and birth["completedAt"] is not None
    text = body.get_data(as_text=True)
    assert child_id not in text and "4471" not in text and "result" not in birth and "note" not in birth


def test_a_wrong_secret_and_an_unknown_code_answer_the_same(service):
    filed = file(service)
    anonymous = service.app.test_client()
    wrong = track(anonymous, filed["code"], "ABCDE-FGHJK")
    unknown = track(anonymous, filed["code"][:-4] + "9999", filed["trackingSecret"])
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.get_json() == unknown.get_json()
    assert "Không tìm thấy hồ sơ" in wrong.get_json()["message"]
    missing = anonymous.post("/api/tracking", json={"code": filed["code"]})
    assert missing.status_code == 400 and "secret" in missing.get_json()["fieldErrors"]


def test_tracking_is_limited_per_address(service):
    filed = file(service)
    anonymous = service.app.test_client()
    for n in range(10):
        assert track(anonymous, f"H19.87.001-261130-{n:04d}", "ABCDE-FGHJK", REMOTE_ADDR="203.0.113.7").status_code == 404
    refused = track(anonymous, filed["code"], filed["trackingSecret"], REMOTE_ADDR="203.0.113.7")
    assert refused.status_code == 429
    assert refused.get_json()["message"] == "Tra cứu quá nhiều lần; vui lòng thử lại sau ít phút."
    assert "Retry-After" in refused.headers
    # Another address is not held back by that one (the limit is per address and per code).
    assert track(anonymous, filed["code"], filed["trackingSecret"], REMOTE_ADDR="203.0.113.8").status_code == 200
    # The catalogue, public too, is not limited with tracking.
    assert anonymous.get("/api/agencies", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 200


def test_tracking_is_limited_per_code_whatever_the_address(service):
    filed = file(service)
    anonymous = service.app.test_client()
    for n in range(10):
        assert track(anonymous, filed["code"], "ABCDE-FGHJK", REMOTE_ADDR=f"198.51.100.{n}").status_code == 404
    assert track(anonymous, filed["code"], filed["trackingSecret"], REMOTE_ADDR="198.51.100.99").status_code == 429
    other = file(service)
    assert track(anonymous, other["code"], other["trackingSecret"], REMOTE_ADDR="198.51.100.98").status_code == 200


def test_the_hourly_limit(service, monkeypatch):
    from api.app import create_app
    from identity.settings import IdentitySettings
    from tests.auth import SETTINGS

    app = create_app(service.engine, identity=IdentitySettings(secret_key=SETTINGS.secret_key,
                                                               tracking_limit="100 per minute; 3 per hour"))
    anonymous = app.test_client()
    statuses = [track(anonymous, "H19.87.001-261130-0001", "ABCDE-FGHJK").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]


def test_the_consoles_tracking_page_counts_against_the_same_limits(service):
    """Guessing through the citizens' page is no way around the API's limits."""
    filed = file(service)
    anonymous = service.app.test_client()
    for n in range(5):
        assert track(anonymous, filed["code"], "ABCDE-FGHJK", REMOTE_ADDR=f"192.0.2.{n}").status_code == 404
    statuses = [anonymous.post("/console/track", data={"code": filed["code"], "secret": "ABCDE-FGHJK"},
                               environ_base={"REMOTE_ADDR": f"192.0.2.{50 + n}"}).status_code for n in range(6)]
    assert statuses[:5] != [429] * 5 and statuses[5] == 429
    assert anonymous.get("/console/track").status_code == 200  # showing the form is not a try


def test_tracking_sends_security_headers(service):
    response = track(service.app.test_client(), "H19.87.001-261130-0001", "ABCDE-FGHJK")
    assert response.status_code == 404
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"


def test_settings_from_the_environment():
    from identity.settings import IdentitySettings

    defaults = IdentitySettings.from_env({"LIENTHONG_SECRET_KEY": "k" * 40})
    assert (defaults.tracking_limit, defaults.rate_limit_storage) == ("10 per minute; 30 per hour", "memory://")
    chosen = IdentitySettings.from_env({"LIENTHONG_SECRET_KEY": "k" * 40, "LIENTHONG_TRACKING_RATE_LIMIT": "5 per minute",
                                        "LIENTHONG_RATE_LIMIT_STORAGE": "redis://cache:6379/0"})
    assert (chosen.tracking_limit, chosen.rate_limit_storage) == ("5 per minute", "redis://cache:6379/0")


def test_the_stored_hash_is_argon2id_at_owasps_minimum(monkeypatch):
    from dossiers import tracking

    monkeypatch.delenv("LIENTHONG_PASSWORD_HASH", raising=False)
    secret = tracking.new_secret()
    stored = tracking.hash_secret(secret)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert tracking.verify(stored, f" {secret.lower()} ") and tracking.verify(stored, secret.replace("-", ""))
    assert not tracking.verify(stored, tracking.new_secret()) and not tracking.verify(None, secret)
