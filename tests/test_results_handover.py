"""Issue 15, the portal's last steps: at the one-stop desk (bộ phận một cửa) an officer hands over the
results and checks the originals, the citizen told where and when; with electronic delivery the
certificates are electronic copies (PDF) that only the citizen who filed downloads, each download
audited. Over the REST API, with the real diagram and handlers."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from agencies.sms import use_gateway
from identity.models import AuditEntry
from tests.auth import logged_in
from tests.birth_examples import another_child
from tests.citizens import Recorder, start_service

AN, BINH = "087084000999", "087190001234"


@pytest.fixture
def service(database, monkeypatch):
    monkeypatch.setenv("LIENTHONG_BHYT_CARD_DELAY_SECONDS", "0")
    service = start_service(database, monkeypatch)
    service.sms = Recorder()
    with use_gateway(service.sms):
        yield service


def decide_all(service, admin, code: str) -> None:
    """The three agencies approve, in the order the diagram opens their tasks."""
    for group in ("tu-phap-ho-tich", "cong-an", "bhxh"):
        service.drain()
        [task] = admin.get(f"/engine-rest/task?candidateGroup={group}&processInstanceBusinessKey={code}").get_json()
        completed = admin.post(f"/engine-rest/task/{task['id']}/complete",
                               json={"variables": {"decision": {"value": "approve"}}})
        assert completed.status_code == 204, completed.get_json()
    service.drain()


def status(client, code: str) -> dict:
    return client.get(f"/api/dossiers/{code}").get_json()


def test_at_the_desk_the_citizen_is_told_where_and_when_and_an_officer_hands_over_the_results(service):
    an, admin = service.citizen(AN), logged_in(service.app, service.engine.db)
    code = an.post("/api/dossiers", json={"procedure": "birth", "declaration": another_child(delivery="desk")}).get_json()["code"]
    decide_all(service, admin, code)

    waiting = status(an, code)
    assert waiting["state"] == "ready-for-collection"
    assert waiting["stateLabel"] == "Đã có kết quả, mời nhận tại Bộ phận Một cửa"
    # Where and when: the receiving agency's desk as the catalogue (dossiers/data/agencies.json) gives it.
    assert waiting["reason"] == ("Nhận kết quả tại Bộ phận Một cửa, số 1 đường 30/4, ấp 1, xã Mỹ An (T2-T6 7h30-11h30, "
                                 f"13h30-17h); khi đến nhận, mang theo giấy tờ tùy thân, mã hồ sơ {code} và bản chính các "
                                 "giấy tờ đã nộp để đối chiếu.")
    [text] = [sms.text for sms in service.sms.sent if "da co ket qua" in sms.text]
    assert text == (f"Ho so {code} da co ket qua. Nhan ket qua tai Bo phan Mot cua, so 1 duong 30/4, ap 1, xa My An; "
                    "T2-T6 7h30-11h30, 13h30-17h.")

    desk = service.officer("officer.mot-cua", "H19.87.001", groups=("mot-cua",))
    [task] = desk.get(f"/engine-rest/task?candidateGroup=mot-cua&processInstanceBusinessKey={code}").get_json()
    assert task["name"] == "Trả kết quả, đối chiếu bản chính giấy tờ"
    incomplete = desk.post(f"/engine-rest/task/{task['id']}/submit-form", json={"variables": {
        "originalsMatch": {"value": True}}})
    assert incomplete.status_code == 400 and "receivedBy" in incomplete.get_data(as_text=True)
    handed = desk.post(f"/engine-rest/task/{task['id']}/submit-form", json={"variables": {
        "originalsMatch": {"value": True}, "receivedBy": {"value": "Nguyễn Văn An"}}})
    assert handed.status_code in (200, 204), handed.get_json()
    service.drain()
    done = status(an, code)
    assert done["state"] == "completed"
    titles = [event["title"] for event in done["timeline"]]
    assert titles[-2:] == ["Nhắn tin: mời nhận kết quả tại Bộ phận một cửa", "Nhắn tin: hồ sơ đã hoàn thành"]


def test_results_by_post_or_online_skip_the_desk(service):
    an, admin = service.citizen(AN), logged_in(service.app, service.engine.db)
    code = an.post("/api/dossiers", json={"procedure": "birth", "declaration": another_child(delivery="post")}).get_json()["code"]
    decide_all(service, admin, code)
    assert status(an, code)["state"] == "completed"
    assert admin.get(f"/engine-rest/task?candidateGroup=mot-cua&processInstanceBusinessKey={code}").get_json() == []


def test_electronic_results_are_copies_the_citizen_who_filed_downloads(service):
    an, binh, admin = service.citizen(AN), service.citizen(BINH), logged_in(service.app, service.engine.db)
    code = an.post("/api/dossiers", json={"procedure": "birth", "declaration": another_child()}).get_json()["code"]
    service.drain()
    early = an.get(f"/api/dossiers/{code}/results/birth.pdf")
    assert early.status_code == 404 and early.get_json()["message"] == f"Thủ tục Đăng ký khai sinh của hồ sơ {code} chưa có kết quả."
    decide_all(service, admin, code)
    parts = {p["part"]: p for p in status(an, code)["parts"]}

    copies = {}
    for part in ("birth", "residence", "bhyt"):
        answer = an.get(f"/api/dossiers/{code}/results/{part}.pdf")
        assert answer.status_code == 200 and answer.mimetype == "application/pdf", answer.get_data(as_text=True)[:300]
        copies[part] = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.data)).pages).replace("\n", " ")
    assert "GIẤY KHAI SINH" in copies["birth"] and parts["birth"]["result"]["childIdNumber"] in copies["birth"]
    assert parts["birth"]["result"]["birthCertificateNumber"] in copies["birth"]
    assert parts["bhyt"]["result"]["bhytCardNumber"] in copies["bhyt"]
    assert "ĐĂNG KÝ THƯỜNG TRÚ" in copies["residence"] and code in copies["residence"]

    # Another citizen (even the child's mother, who did not file) and the agency's officers do not get them.
    assert binh.get(f"/api/dossiers/{code}/results/birth.pdf").status_code == 404
    officer = service.officer("officer.a", "H19.87.001")
    assert officer.get(f"/api/dossiers/{code}/results/birth.pdf").status_code == 403
    with service.engine.db.reading() as session:
        reads = session.execute(select(AuditEntry.actor, AuditEntry.resource_id).where(
            AuditEntry.action == "read", AuditEntry.resource == "result")).all()
    assert sorted(reads) == sorted((AN, f"{code}/{part}") for part in ("birth", "residence", "bhyt"))


def test_no_electronic_copy_when_the_results_go_on_paper(service):
    an, admin = service.citizen(AN), logged_in(service.app, service.engine.db)
    code = an.post("/api/dossiers", json={"procedure": "birth", "declaration": another_child(delivery="post")}).get_json()["code"]
    decide_all(service, admin, code)
    refused = an.get(f"/api/dossiers/{code}/results/birth.pdf")
    assert refused.status_code == 404 and "qua bưu chính" in refused.get_json()["message"]


def test_a_death_dossier_collected_at_the_desk_is_handed_over_there_too(service):
    from tests.death_examples import death_declaration
    an, admin = service.citizen(AN), logged_in(service.app, service.engine.db)
    filed = an.post("/api/dossiers", json={"procedure": "death", "declaration": death_declaration(
        parts=["death", "residence"], delivery="desk")})
    assert filed.status_code == 201, filed.get_json()
    code = filed.get_json()["code"]
    for group in ("tu-phap-ho-tich", "cong-an"):
        service.drain()
        [task] = admin.get(f"/engine-rest/task?candidateGroup={group}&processInstanceBusinessKey={code}").get_json()
        assert admin.post(f"/engine-rest/task/{task['id']}/complete",
                          json={"variables": {"decision": {"value": "approve"}}}).status_code == 204
    service.drain()
    assert status(an, code)["state"] == "ready-for-collection"
    [task] = admin.get(f"/engine-rest/task?candidateGroup=mot-cua&processInstanceBusinessKey={code}").get_json()
    assert admin.post(f"/engine-rest/task/{task['id']}/submit-form", json={"variables": {
        "originalsMatch": {"value": True}, "receivedBy": {"value": "Nguyễn Văn An"}}}).status_code in (200, 204)
    service.drain()
    assert status(an, code)["state"] == "completed"


def test_a_death_extract_as_an_electronic_copy(service):
    from tests.death_examples import death_declaration
    an, admin = service.citizen(AN), logged_in(service.app, service.engine.db)
    code = an.post("/api/dossiers", json={"procedure": "death", "declaration": death_declaration(
        parts=["death", "residence"])}).get_json()["code"]
    for group in ("tu-phap-ho-tich", "cong-an"):
        service.drain()
        [task] = admin.get(f"/engine-rest/task?candidateGroup={group}&processInstanceBusinessKey={code}").get_json()
        admin.post(f"/engine-rest/task/{task['id']}/complete", json={"variables": {"decision": {"value": "approve"}}})
    service.drain()
    parts = {p["part"]: p for p in status(an, code)["parts"]}
    texts = {}
    for part in ("death", "residence"):
        answer = an.get(f"/api/dossiers/{code}/results/{part}.pdf")
        assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
        texts[part] = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.data)).pages).replace("\n", " ")
    assert "TRÍCH LỤC KHAI TỬ" in texts["death"] and parts["death"]["result"]["deathExtractNumber"] in texts["death"]
    assert "XÓA ĐĂNG KÝ THƯỜNG TRÚ" in texts["residence"]
