"""Citizens see and change only their own dossiers; officers only their agency's. The receiving
agency comes from the catalogue. Uploads are limited per dossier as well as per file."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from dossiers.agencies import AgencyCatalogue, catalogue
from dossiers.models import Dossier, DossierAttachment
from agencies.sms import use_gateway
from tests.birth_examples import another_child, birth_declaration
from tests.citizens import PDF, Recorder, start_service

AN, BINH = "087084000999", "087190001234"  # two citizens (their login is their personal ID number)


@pytest.fixture
def service(database, monkeypatch):
    return start_service(database, monkeypatch)


def file(client, expect=201, **body) -> dict:
    response = client.post("/api/dossiers", json={"procedure": "birth", "declaration": another_child(), **body})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def files(*names: str, size: int = 0) -> dict:
    return {name: (io.BytesIO(PDF + b"0" * max(size - len(PDF), 0)), f"{name}.pdf", "application/pdf") for name in names}


# --- citizens ---------------------------------------------------------------------------------

def test_a_citizen_sees_and_changes_only_their_own_dossiers(service):
    an, binh = service.citizen(AN), service.citizen(BINH)
    mine, theirs = file(an)["code"], file(binh)["code"]
    with service.engine.db.reading() as session:
        assert session.get(Dossier, mine).owner_id == AN and session.get(Dossier, theirs).owner_id == BINH

    assert [d["code"] for d in an.get("/api/dossiers").get_json()] == [mine]
    assert [d["code"] for d in binh.get("/api/dossiers").get_json()] == [theirs]
    assert an.get(f"/api/dossiers/{mine}").status_code == 200
    with use_gateway(Recorder()):
        service.drain()  # printing is off: the declarations are not printed
    for path in (f"/api/dossiers/{theirs}", f"/api/dossiers/{theirs}/declarations/birth.pdf"):
        refused = an.get(path)
        assert refused.status_code == 404 and theirs in refused.get_json()["message"], path
    assert an.get(f"/api/dossiers/{mine}/declarations/birth.pdf").get_json()["message"].startswith(f"Hồ sơ {mine} chưa có")

    assert an.post(f"/api/dossiers/{mine}/attachments", data=files("giay-chung-sinh")).status_code == 201
    assert an.post(f"/api/dossiers/{theirs}/attachments", data=files("giay-chung-sinh")).status_code == 404
    assert an.post(f"/api/dossiers/{theirs}/supplements", data={"part": "birth", **files("bo-sung")}).status_code == 404
    with service.engine.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(DossierAttachment)
                              .where(DossierAttachment.dossier_code == theirs)) == 0


def test_a_citizen_supplements_their_own_dossier_and_nobody_else_can(service):
    an, binh = service.citizen(AN), service.citizen(BINH)
    code = file(an)["code"]
    with use_gateway(Recorder()):
        service.drain()
    officer = service.officer("ho-tich-my-an", "H19.87.001")
    [task] = officer.get(f"/engine-rest/task?processInstanceBusinessKey={code}").get_json()
    assert officer.post(f"/engine-rest/task/{task['id']}/complete", json={"variables": {
        "decision": {"value": "supplement"}, "note": {"value": "Bổ sung giấy chứng sinh"}}}).status_code == 204
    with use_gateway(Recorder()):
        service.drain()

    stranger = service.officer("ho-tich-tan-thanh", "H19.87.002")
    assert binh.post(f"/api/dossiers/{code}/supplements", data={"part": "birth", **files("bo-sung")}).status_code == 404
    assert stranger.post(f"/api/dossiers/{code}/supplements", data={"part": "birth", **files("bo-sung")}).status_code == 404
    supplemented = an.post(f"/api/dossiers/{code}/supplements", data={"part": "birth", **files("giay-chung-sinh")})
    assert supplemented.status_code == 200, supplemented.get_json()
    assert [a["kind"] for a in supplemented.get_json()["attachments"]] == ["giay-chung-sinh"]


def test_an_officer_of_another_agency_gets_404_for_a_citizens_dossier(service):
    code = file(service.citizen(AN))["code"]
    here, elsewhere = service.officer("ho-tich-my-an", "H19.87.001"), service.officer("ho-tich-tan-thanh", "H19.87.002")
    assert here.get(f"/api/dossiers/{code}").status_code == 200
    assert [d["code"] for d in here.get("/api/dossiers").get_json()] == [code]
    assert elsewhere.get("/api/dossiers").get_json() == []
    for path in (f"/api/dossiers/{code}", f"/api/dossiers/{code}/declarations/birth.pdf"):
        assert elsewhere.get(path).status_code == 404, path
    assert elsewhere.post(f"/api/dossiers/{code}/attachments", data=files("x")).status_code == 404


# --- the agency catalogue ------------------------------------------------------------------------

def test_the_catalogue_is_public_and_filing_chooses_from_it(service):
    listed = service.app.test_client().get("/api/agencies")
    assert listed.status_code == 200
    agencies = {a["code"]: a for a in listed.get_json()}
    assert agencies["H19.87.001"] == {"code": "H19.87.001", "name": "Ủy ban nhân dân xã Mỹ An", "province": "Tỉnh Đồng Tháp",
                                      "address": "số 1 đường 30/4, ấp 1, xã Mỹ An", "hours": "T2-T6 7h30-11h30, 13h30-17h"}
    assert len(agencies) >= 2

    an = service.citizen(AN)
    assert file(an)["code"].startswith("H19.87.001-261130-")  # LIENTHONG_AGENCY_CODE's default
    chosen = file(an, agencyCode="H19.87.002")
    assert chosen["code"] == "H19.87.002-261130-0001" and chosen["agencyCode"] == "H19.87.002"
    refused = file(an, expect=400, agencyCode="H99.99.999")
    assert refused["fieldErrors"] == {"agencyCode": ["Cơ quan tiếp nhận H99.99.999 không có trong danh mục; "
                                                     "chọn một cơ quan trong danh sách GET /api/agencies."]}
    # An officer receives for their own agency only, and it must be listed.
    assert file(service.officer("ho-tich-tan-thanh", "H19.87.002"))["code"].startswith("H19.87.002-")
    assert "agencyCode" in file(service.officer("ho-tich-ngoai", "H77.01.001"), expect=400)["fieldErrors"]


def test_the_default_agency_and_a_catalogue_of_ones_own(service, monkeypatch, tmp_path):
    monkeypatch.setenv("LIENTHONG_AGENCY_CODE", "H01.05.002")
    assert file(service.citizen(AN))["code"].startswith("H01.05.002-")
    path = tmp_path / "agencies.json"
    path.write_text(json.dumps([{"code": "T01.01.001", "name": "UBND xã Thử", "province": "Tỉnh Thử"}]), encoding="utf-8")
    monkeypatch.setenv("LIENTHONG_AGENCY_CATALOGUE", str(path))
    assert [a["code"] for a in service.app.test_client().get("/api/agencies").get_json()] == ["T01.01.001"]
    assert "agencyCode" in file(service.citizen(AN), expect=400)["fieldErrors"]  # H01.05.002 is not in it
    assert file(service.citizen(AN), agencyCode="T01.01.001")["code"].startswith("T01.01.001-")


@pytest.mark.parametrize("text, error", [
    ("[]", "non-empty JSON list"),
    ('[{"code": "H19.87.001", "name": "A"}]', "entry 0 needs the texts code, name and province"),
    ('[{"code": "bad code", "name": "A", "province": "B"}]', "not an agency code"),
    ('[{"code": "A1", "name": "A", "province": "B"}, {"code": "A1", "name": "C", "province": "B"}]', "listed twice"),
])
def test_a_malformed_catalogue_names_the_problem(text, error):
    with pytest.raises(ValueError, match=error):
        AgencyCatalogue.parse(text, "agencies.json")


def test_the_shipped_catalogue_is_package_data():
    assert "H19.87.001" in catalogue() and len(catalogue().all()) >= 2


# --- uploads per dossier ------------------------------------------------------------------------

def test_85_mb_in_a_few_seconds_is_refused(service):
    """The finding: anyone attached 85 MB to a dossier in 2 s. Now the dossier holds 50 MB at most."""
    an = service.citizen(AN)
    code = file(an)["code"]
    answers = [an.post(f"/api/dossiers/{code}/attachments", data=files(f"scan-{n}", size=9_500_000)).status_code
               for n in range(9)]
    assert answers == [201] * 5 + [400] * 4
    refused = an.post(f"/api/dossiers/{code}/attachments", data=files("scan", size=9_500_000)).get_json()
    assert refused["fieldErrors"]["files"] == ["Mỗi hồ sơ nhận tối đa 30 tệp, tổng cộng 50 MB (hồ sơ đã có 5 tệp, 45.3 MB); "
                                               "không thể nhận thêm 1 tệp (9.1 MB)."]
    with service.engine.db.reading() as session:
        stored = session.scalar(select(func.sum(DossierAttachment.size)).where(DossierAttachment.dossier_code == code))
    assert stored == 5 * 9_500_000 <= 50 * 1024 * 1024


def test_the_limits_hold_at_filing_attachments_and_supplements(service, monkeypatch):
    monkeypatch.setenv("LIENTHONG_DOSSIER_MAX_FILES", "3")
    monkeypatch.setenv("LIENTHONG_DOSSIER_MAX_MB", "1")
    an = service.citizen(AN)
    body = json.dumps({"procedure": "birth", "declaration": birth_declaration()})
    too_many = an.post("/api/dossiers", data={"dossier": body, **files("a", "b", "c", "d")})
    assert too_many.status_code == 400 and "tối đa 3 tệp" in too_many.get_json()["fieldErrors"]["files"][0]
    too_big = an.post("/api/dossiers", data={"dossier": body, **files("a", "b", size=600_000)})
    assert too_big.status_code == 400 and "1 MB" in too_big.get_json()["fieldErrors"]["files"][0]
    filed = an.post("/api/dossiers", data={"dossier": body, **files("a", "b")})
    assert filed.status_code == 201
    code = filed.get_json()["code"]
    assert an.post(f"/api/dossiers/{code}/attachments", data=files("c")).status_code == 201
    full = an.post(f"/api/dossiers/{code}/attachments", data=files("d"))
    assert full.status_code == 400 and "hồ sơ đã có 3 tệp" in full.get_json()["fieldErrors"]["files"][0]

    with use_gateway(Recorder()):
        service.drain()
    officer = service.officer("ho-tich-my-an", "H19.87.001")
    [task] = officer.get(f"/engine-rest/task?processInstanceBusinessKey={code}").get_json()
    officer.post(f"/engine-rest/task/{task['id']}/complete", json={"variables": {"decision": {"value": "supplement"}}})
    with use_gateway(Recorder()):
        service.drain()
    refused = an.post(f"/api/dossiers/{code}/supplements", data={"part": "birth", **files("bo-sung")})
    assert refused.status_code == 400 and "files" in refused.get_json()["fieldErrors"]
    monkeypatch.setenv("LIENTHONG_DOSSIER_MAX_FILES", "4")
    assert an.post(f"/api/dossiers/{code}/supplements", data={"part": "birth", **files("bo-sung")}).status_code == 200


def test_bad_limit_settings_are_named(monkeypatch):
    from dossiers.service import UploadLimits

    assert UploadLimits.from_environment() == UploadLimits(30, 50 * 1024 * 1024)
    monkeypatch.setenv("LIENTHONG_DOSSIER_MAX_MB", "lots")
    with pytest.raises(ValueError, match="LIENTHONG_DOSSIER_MAX_MB must be a number"):
        UploadLimits.from_environment()
