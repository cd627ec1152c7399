"""True states: how an instance ends shows in its dossier's status; a retried filing with the
same Idempotency-Key gives back the first dossier instead of filing a second."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dossiers.models import Dossier
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
