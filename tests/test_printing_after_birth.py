"""Issue 15: the BHYT declaration (TK1-TS) and CT01 printed after the birth part carry the child's
personal ID number, which birth registration issued before residence and BHYT are handled; and the
agencies are handed the declarations with it. Through the REST API, printing on."""
from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from agencies.models import AgencyRecord
from tests.auth import logged_in
from tests.birth_examples import birth_declaration
from tests.citizens import start_service


def text_of(pdf: bytes) -> str:
    return "".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def test_the_papers_after_the_birth_carry_the_childs_number(database, monkeypatch):
    service = start_service(database, monkeypatch)
    monkeypatch.setenv("LIENTHONG_PRINTING", "on")
    monkeypatch.setenv("LIENTHONG_BHYT_CARD_AUTO", "off")
    citizen, admin = service.citizen("087084000999"), logged_in(service.app, service.engine.db)
    code = citizen.post("/api/dossiers", json={"procedure": "birth", "declaration": birth_declaration()}).get_json()["code"]
    service.drain()

    def printed(form: str) -> str:
        response = citizen.get(f"/api/dossiers/{code}/declarations/{form}.pdf")
        assert response.status_code == 200
        return text_of(response.data)

    before = printed("bhyt")
    assert "[07].Sốđịnhdanhcánhân:" in before  # the line is there, blank: no number exists yet

    [task] = admin.get(f"/engine-rest/task?candidateGroup=tu-phap-ho-tich&processInstanceBusinessKey={code}").get_json()
    assert admin.post(f"/engine-rest/task/{task['id']}/complete",
                      json={"variables": {"decision": {"value": "approve"}}}).status_code == 204
    service.drain()
    child_id = next(p for p in citizen.get(f"/api/dossiers/{code}").get_json()["parts"] if p["part"] == "birth")["result"]["childIdNumber"]
    assert child_id not in before
    assert f"[07].Sốđịnhdanhcánhân:{child_id}" in printed("bhyt")
    assert child_id in printed("residence")

    for group in ("cong-an", "bhxh"):
        [task] = admin.get(f"/engine-rest/task?candidateGroup={group}&processInstanceBusinessKey={code}").get_json()
        assert admin.post(f"/engine-rest/task/{task['id']}/complete",
                          json={"variables": {"decision": {"value": "approve"}}}).status_code == 204
    service.drain()
    with service.engine.db.reading() as session:
        handed = {row.agency: row.request["declaration"] for row in session.scalars(
            select(AgencyRecord).where(AgencyRecord.dossier_code == code, AgencyRecord.agency.in_(("bhyt", "residence"))))}
    assert handed["bhyt"]["idNumber"] == child_id
    assert handed["residence"]["members"][0]["idNumber"] == child_id
