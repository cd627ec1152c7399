"""The birth group end to end, over HTTP only: a live server with its embedded worker, the real
diagram (workflows/birth_linked.bpmn), the real handlers (local agency adapters, log SMS sink),
WeasyPrint printing, and an injected clock for the deadlines."""
from __future__ import annotations

import io
import json
import re
from datetime import datetime, timezone

import pytest
from pypdf import PdfReader

from dossiers.service import DEFAULT_AGENCY_CODE
from engine.clock import ManualClock
from forms.personal_id import check_personal_id
from tests.birth_examples import birth_declaration, twins_declaration
from tests.live import wait_for
from tests import documents
from tests.portal import MONDAY_9AM, PDF, running_service


@pytest.fixture
def clock():
    return ManualClock(MONDAY_9AM)


@pytest.fixture
def service(database, clock, monkeypatch):
    monkeypatch.setenv("LIENTHONG_BHYT_CARD_DELAY_SECONDS", "0")
    with running_service(database, clock, "birth") as portal:
        yield portal


def test_all_three_parts_approved(service):
    filed = service.file(birth_declaration())
    code = filed["code"]
    assert re.fullmatch(rf"{re.escape(DEFAULT_AGENCY_CODE)}-261130-0001", code)
    assert [p["part"] for p in filed["parts"]] == ["birth", "residence", "bhyt"]
    assert service.file(birth_declaration(child__fullName="Nguyễn Minh Khôi"))["code"].endswith("-0002")  # numbered within the day

    # Receipt: identity checked, declarations extracted and printed, due dates in working days.
    birth = service.wait_part(code, "birth", "processing")
    assert birth["agency"] == "Công chức tư pháp – hộ tịch (UBND xã)"
    assert birth["dueAt"] == "2026-11-30T17:00:00+07:00"  # same working day
    status = service.status(code)
    assert status["receivedAt"] == "2026-11-30T09:00:00+07:00"
    assert status["dueAt"] == "2026-12-03T17:00:00+07:00"  # 3 working days for the whole group
    assert service.part(code, "residence")["dueAt"] == "2026-12-02T17:00:00+07:00"
    assert service.part(code, "bhyt")["dueAt"] == "2026-12-02T17:00:00+07:00"
    assert {d["form"] for d in status["declarations"]} == {"birth", "residence", "bhyt"}
    for link in status["declarations"]:
        pdf = service.http.get(service.base + link["url"], timeout=30)
        assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Nguyễn Minh Khang" in text.replace("\n", " ")

    service.decide("tu-phap-ho-tich", code, "approve")
    birth = service.wait_part(code, "birth", "approved")
    child_id = birth["result"]["childIdNumber"]
    assert check_personal_id(child_id, sex="male", birth_year=2024) == []
    assert birth["result"]["birthCertificateNumber"]

    # Residence and BHYT run in parallel after the birth registration.
    service.decide("cong-an", code, "approve")
    service.decide("bhxh", code, "approve")
    done = service.wait_dossier(code, "completed")
    parts = {p["part"]: p for p in done["parts"]}
    assert parts["residence"]["state"] == "approved" and parts["residence"]["agency"] == "Công an xã"
    assert parts["bhyt"]["state"] == "approved" and parts["bhyt"]["agency"] == "Bảo hiểm xã hội"
    card = parts["bhyt"]["result"]["bhytCardNumber"]
    assert card.startswith("TE1") and len(card) == 15 and card.endswith(child_id[-10:])
    assert done["completedAt"] is not None
    titles = [event["title"] for event in done["timeline"]]
    assert titles[0] == "Công dân nộp tờ khai liên thông" and titles[-1] == "Nhắn tin: hồ sơ đã hoàn thành"
    assert titles.index("Nhắn tin: đã đăng ký khai sinh") < titles.index("Nhắn tin: đã cấp thẻ BHYT")


def test_twins_go_through_one_dossier(service, database):
    """Twins are one declaration and one dossier: a birth registration, an ID number, a certificate
    and a BHYT card per child, both children in the one residence registration."""
    code = service.file(twins_declaration())["code"]
    service.wait_part(code, "birth", "processing")
    status = service.status(code)
    assert sorted(d["form"] for d in status["declarations"]) == ["bhyt", "bhyt-2", "birth", "birth-2", "residence"]
    texts = {}
    for link in status["declarations"]:
        pdf = service.http.get(service.base + link["url"], timeout=30)
        assert pdf.status_code == 200
        texts[link["form"]] = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages).replace("\n", " ")
    assert "Nguyễn Minh Khang" in texts["birth"] and "Nguyễn Ngọc Hân" in texts["birth-2"]
    assert "Nguyễn Ngọc Hân" not in texts["birth"] and "Nguyễn Minh Khang" not in texts["bhyt-2"]
    assert "Nguyễn Minh Khang" in texts["residence"] and "Nguyễn Ngọc Hân" in texts["residence"]  # one CT01, both

    service.decide("tu-phap-ho-tich", code, "approve")
    birth = service.wait_part(code, "birth", "approved")
    births = birth["result"]["births"]
    assert [b["fullName"] for b in births] == ["Nguyễn Minh Khang", "Nguyễn Ngọc Hân"]
    assert check_personal_id(births[0]["childIdNumber"], sex="male", birth_year=2024) == []
    assert check_personal_id(births[1]["childIdNumber"], sex="female", birth_year=2024) == []
    assert births[0]["childIdNumber"] != births[1]["childIdNumber"]
    assert len({b["birthCertificateNumber"] for b in births}) == 2 and all(b["birthRegisteredOn"] for b in births)

    service.decide("cong-an", code, "approve")
    service.decide("bhxh", code, "approve")
    done = service.wait_dossier(code, "completed")
    parts = {p["part"]: p for p in done["parts"]}
    assert parts["residence"]["state"] == "approved"
    cards = parts["bhyt"]["result"]["bhytCards"]
    assert [c["fullName"] for c in cards] == ["Nguyễn Minh Khang", "Nguyễn Ngọc Hân"]
    for card, child in zip(cards, births):
        assert card["bhytCardNumber"].startswith("TE1") and card["bhytCardNumber"].endswith(child["childIdNumber"][-10:])
    assert len({c["bhytCardNumber"] for c in cards}) == 2
    # The birth hand-off ran once per child, the history says so (Camunda's multi-instance body).
    titles = [event["title"] for event in done["timeline"]]
    assert titles.count("Chuyển phần mềm đăng ký hộ tịch") == 2
    [instance] = service.rest.get(f"/history/process-instance?processInstanceBusinessKey={code}")
    rows = service.rest.get(f"/history/activity-instance?processInstanceId={instance['id']}&sortBy=startTime&sortOrder=asc")
    assert [r["activityId"] for r in rows if r["activityId"].startswith("Task_BirthHandoff")] == [
        "Task_BirthHandoff#multiInstanceBody", "Task_BirthHandoff", "Task_BirthHandoff"]

    from sqlalchemy import select

    from agencies.models import AgencyRecord, SmsOutbox
    with database.session() as session:
        residence = session.scalars(select(AgencyRecord).where(AgencyRecord.dossier_code == code,
                                                               AgencyRecord.agency == "residence")).one()
        texts = list(session.scalars(select(SmsOutbox.text).where(SmsOutbox.dossier_code == code).order_by(SmsOutbox.id)))
    assert [m["fullName"] for m in residence.request["declaration"]["members"]] == ["Nguyễn Minh Khang", "Nguyễn Ngọc Hân"]
    assert all(len(text) <= 160 and text.isascii() for text in texts)
    said = " ".join(texts)
    assert f"da dang ky khai sinh cho 2 tre. So dinh danh ca nhan: {births[0]['childIdNumber']}, {births[1]['childIdNumber']}" in said
    assert "2 tre da duoc dang ky thuong tru" in said
    assert f"da cap the BHYT cho 2 tre, so the: {cards[0]['bhytCardNumber']}, {cards[1]['bhytCardNumber']}" in said


@pytest.mark.parametrize("chosen, skipped", [(["birth", "bhyt"], "residence"), (["birth", "residence"], "bhyt")])
def test_two_part_choices(service, chosen, skipped):
    code = service.file(birth_declaration(parts=chosen))["code"]
    assert [p["part"] for p in service.status(code)["parts"]] == chosen
    service.decide("tu-phap-ho-tich", code, "approve")
    other = {"bhyt": "bhxh", "residence": "cong-an"}[chosen[1]]
    service.decide(other, code, "approve")
    done = service.wait_dossier(code, "completed")
    assert [p["state"] for p in done["parts"]] == ["approved", "approved"]
    assert {d["form"] for d in done["declarations"]} == set(chosen)
    skipped_group = {"bhyt": "bhxh", "residence": "cong-an"}[skipped]
    assert service.inbox(skipped_group, code) == []


def test_residence_refused_while_birth_and_bhyt_complete(service):
    code = service.file(birth_declaration())["code"]
    service.decide("tu-phap-ho-tich", code, "approve")
    service.decide("cong-an", code, "refuse", note="Chỗ ở không đủ điều kiện đăng ký thường trú")
    residence = service.wait_part(code, "residence", "refused")
    assert residence["note"] == "Chỗ ở không đủ điều kiện đăng ký thường trú"
    service.decide("bhxh", code, "approve")
    done = service.wait_dossier(code, "completed")
    assert [p["state"] for p in done["parts"]] == ["approved", "refused", "approved"]


def test_a_refused_birth_ends_the_whole_dossier(service):
    code = service.file(birth_declaration())["code"]
    service.decide("tu-phap-ho-tich", code, "refuse", note="Giấy chứng sinh không hợp lệ")
    done = service.wait_dossier(code, "refused")
    assert [p["state"] for p in done["parts"]] == ["refused", "not-processed", "not-processed"]
    assert done["reason"] == "Giấy chứng sinh không hợp lệ"
    assert service.inbox("cong-an", code) == [] and service.inbox("bhxh", code) == []


def test_a_supplement_loop_returns_to_the_same_officer(service):
    code = service.file(birth_declaration())["code"]
    service.decide("tu-phap-ho-tich", code, "supplement", note="Bổ sung bản chụp giấy chứng sinh")
    asked = service.wait_part(code, "birth", "awaiting-supplement")
    assert asked["note"] == "Bổ sung bản chụp giấy chứng sinh"
    assert service.inbox("tu-phap-ho-tich", code) == []

    wrong = service.http.post(f"{service.base}/api/dossiers/{code}/supplements", data={"part": "bhyt"},
                              files={"giay-chung-sinh": ("gcs.pdf", PDF, "application/pdf")}, timeout=30)
    assert wrong.status_code == 409, wrong.text  # BHYT was not sent back
    bad = service.http.post(f"{service.base}/api/dossiers/{code}/supplements", data={"part": "birth"},
                            files={"giay-chung-sinh": ("gcs.pdf", b"not a pdf", "application/pdf")}, timeout=30)
    assert bad.status_code == 400 and "files.giay-chung-sinh" in bad.json()["fieldErrors"]

    sent = service.http.post(f"{service.base}/api/dossiers/{code}/supplements", data={"part": "birth", "note": "Đã bổ sung"},
                             files={"giay-chung-sinh": ("gcs.pdf", PDF, "application/pdf")}, timeout=30)
    assert sent.status_code == 200, sent.text
    assert [a["part"] for a in sent.json()["attachments"]] == ["birth"]
    service.wait_part(code, "birth", "processing")
    service.decide("tu-phap-ho-tich", code, "approve")  # the same officer group, once more
    approved = service.wait_part(code, "birth", "approved")
    assert approved["result"]["childIdNumber"]
    assert approved["note"] is None  # issue 15: the supplement request's note stayed after approval
    states = [(e["part"], e["state"]) for e in service.status(code)["timeline"] if e["part"] == "birth"]
    assert states == [("birth", "processing"), ("birth", "awaiting-supplement"), ("birth", "processing"),
                      ("birth", "handed-off"), ("birth", "approved")]


def test_a_deadline_breach_is_escalated_to_the_supervisors(service, clock):
    code = service.file(birth_declaration())["code"]
    service.wait_part(code, "birth", "processing")
    assert service.inbox("tu-phap-ho-tich-lanh-dao", code) == []
    clock.set(datetime(2026, 11, 30, 10, 1, tzinfo=timezone.utc))  # 17:01 in Hanoi: the same-day deadline passed
    birth = wait_for(lambda: service.part(code, "birth"), lambda p: p["overdue"], timeout=20)
    assert birth["state"] == "processing"  # still with the officer...
    escalated = wait_for(lambda: service.inbox("tu-phap-ho-tich-lanh-dao", code), lambda t: len(t) == 1, timeout=20)
    assert escalated[0]["name"] == "Xem xét, đăng ký khai sinh"  # ...and now in the supervisors' inbox too
    assert len(service.inbox("tu-phap-ho-tich", code)) == 1
    # The supervisors see the task as soon as the handler adds them; the breach is recorded when its job completes.
    variables = wait_for(lambda: service.rest.get(f"/process-instance/{escalated[0]['processInstanceId']}/variables"),
                         lambda found: "deadlineBreaches" in found, timeout=20)
    variable = variables["deadlineBreaches"]
    assert variable["type"] == "Json"  # a list travels as Camunda's Json type, its value a JSON text
    breaches = json.loads(variable["value"])
    assert breaches[0]["activity"] == "Task_BirthReview" and breaches[0]["escalatedTo"] == "tu-phap-ho-tich-lanh-dao"
    assert ("birth", "overdue") in [(e["part"], e["state"]) for e in service.status(code)["timeline"]]
    service.decide("tu-phap-ho-tich", code, "approve")  # late, but the dossier goes on
    service.wait_part(code, "birth", "approved")


def test_an_identity_mismatch_is_rejected_at_receipt_with_the_reason(service):
    code = service.file(birth_declaration(mother__fullName="Trần Thị Bính"))["code"]
    rejected = service.wait_dossier(code, "rejected")
    assert "Họ tên người mẹ không khớp" in rejected["reason"]
    assert [p["state"] for p in rejected["parts"]] == ["rejected", "rejected", "rejected"]
    assert service.inbox("tu-phap-ho-tich", code) == []


def test_the_bhyt_card_arriving_twice_is_harmless(service, monkeypatch):
    monkeypatch.setenv("LIENTHONG_BHYT_CARD_AUTO", "off")  # the agency answers by itself, below
    code = service.file(birth_declaration(parts=["birth", "bhyt"]))["code"]
    service.decide("tu-phap-ho-tich", code, "approve")
    child_id = service.wait_part(code, "birth", "approved")["result"]["childIdNumber"]
    service.decide("bhxh", code, "approve")
    service.wait_part(code, "bhyt", "awaiting-card")
    card = {"messageName": "bhyt.card-issued", "businessKey": code, "processVariables": {
        "bhytCardNumber": {"value": "TE187" + child_id[-10:]}, "bhytValidFrom": {"value": "2024-05-20"},
        "bhytValidUntil": {"value": "2030-05-19"}}}
    service.rest.post("/message", card, expect=204)
    done = service.wait_dossier(code, "completed")
    again = service.rest.post("/message", {**card, "processVariables": {"bhytCardNumber": {"value": "TE1870000000000"}}},
                              expect=400)
    assert "No process definition or execution matches" in again["message"]
    after = service.status(code)
    assert after["state"] == "completed" and after["timeline"] == done["timeline"]
    assert after["parts"][1]["result"]["bhytCardNumber"] == "TE187" + child_id[-10:]


def test_an_invalid_submission_names_every_field_and_stores_nothing(service):
    declaration = birth_declaration(child__dateOfBirth="2030-01-01", mother__idNumber="12345", commitment=False)
    refused = service.file(declaration, expect=400, agencyCode="bad code")
    fields = refused["fieldErrors"]
    assert {"declaration.child.dateOfBirth", "declaration.mother.idNumber", "declaration.commitment", "agencyCode"} <= set(fields)
    assert all(isinstance(m, str) and m for messages in fields.values() for m in messages)
    assert service.rest.get("/process-instance/count")["count"] == 0
    assert service.file(birth_declaration())["code"].endswith("-0001")  # no number was used up
    assert service.http.get(f"{service.base}/api/dossiers/NOPE-000000-0000", timeout=30).status_code == 404


def test_attachments_with_the_filing_and_afterwards(service):
    dossier = json.dumps({"procedure": "birth", "declaration": birth_declaration(parts=["birth", "bhyt"])})
    filed = service.http.post(f"{service.base}/api/dossiers", data={"dossier": dossier},
                              files={"giay-chung-sinh": ("gcs.pdf", PDF, "application/pdf")}, timeout=30)
    assert filed.status_code == 201, filed.text
    code = filed.json()["code"]
    assert filed.headers["Location"].endswith(f"/api/dossiers/{code}")
    [attached] = filed.json()["attachments"]
    assert (attached["kind"], attached["filename"], attached["part"], attached["size"]) == ("giay-chung-sinh", "gcs.pdf", None, len(PDF))

    later = service.http.post(f"{service.base}/api/dossiers/{code}/attachments",
                              files={"giay-uy-quyen": ("uq.png", documents.image("image/png"), "image/png")}, timeout=30)
    assert later.status_code == 201, later.text
    assert [a["kind"] for a in service.status(code)["attachments"]] == ["giay-chung-sinh", "giay-uy-quyen"]

    # A file that is not what it claims, or a dossier part that is not JSON: 400, nothing stored.
    fake = service.http.post(f"{service.base}/api/dossiers", data={"dossier": dossier},
                             files={"giay-chung-sinh": ("gcs.pdf", b"MZ\x90\x00", "application/pdf")}, timeout=30)
    assert fake.status_code == 400 and "files.giay-chung-sinh" in fake.json()["fieldErrors"]
    broken = service.http.post(f"{service.base}/api/dossiers", data={"dossier": "{not json"}, timeout=30)
    assert broken.status_code == 400 and "dossier" in broken.json()["fieldErrors"]
    assert service.rest.get("/process-instance/count")["count"] == 1
    missing = service.http.get(f"{service.base}/api/dossiers/{code}/declarations/residence.pdf", timeout=30)
    assert missing.status_code == 404  # residence was not chosen
