"""Issue 15, the portal's steps: the citizen reviews the three extracted declarations (printed, to
check, or to print and sign when filing on paper) in a draft before confirming it, and the
declaration is pre-filled from the population register for the citizen logged in. Over the REST
API: only the account that made a draft sees it; reads of personal data are audited."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from agencies.sms import use_gateway
from dossiers.models import Dossier
from identity.models import AuditEntry
from tests.birth_examples import birth_declaration
from tests.citizens import Recorder, start_service

AN, BINH, KHOI_FATHER = "087084000999", "087190001234", "001088012345"


@pytest.fixture
def service(database, monkeypatch):
    service = start_service(database, monkeypatch)
    monkeypatch.setenv("LIENTHONG_PRINTING", "on")  # the drafts print on request
    return service


def dossiers(service) -> int:
    with service.engine.db.reading() as session:
        return session.scalar(select(func.count()).select_from(Dossier))


def audited(service, resource: str) -> list[tuple[str, str]]:
    """(actor, resource id) of each audited read of `resource`, in order."""
    with service.engine.db.reading() as session:
        return [tuple(row) for row in session.execute(
            select(AuditEntry.actor, AuditEntry.resource_id).where(AuditEntry.action == "read", AuditEntry.resource == resource)
            .order_by(AuditEntry.at, AuditEntry.id))]


def test_a_draft_shows_the_three_declarations_and_files_nothing_until_confirmed(service):
    an = service.citizen(AN)
    made = an.post("/api/dossiers/drafts", json={"procedure": "birth", "declaration": birth_declaration()})
    assert made.status_code == 201, made.get_json()
    draft = made.get_json()
    assert draft["state"] == "draft" and draft["dossierCode"] is None
    assert [d["form"] for d in draft["declarations"]] == ["birth", "residence", "bhyt"]
    assert [d["title"] for d in draft["declarations"]] == [
        "Tờ khai đăng ký khai sinh", "Tờ khai thay đổi thông tin cư trú (CT01)",
        "Tờ khai tham gia, điều chỉnh thông tin BHXH, BHYT (TK1-TS)"]
    birth, residence, _ = (d["data"] for d in draft["declarations"])
    assert birth["child"]["fullName"] == "Nguyễn Minh Khang"
    # The CT01 names the head of the mother's household, read from the population register.
    assert residence["headOfHousehold"]["fullName"] == "Nguyễn Văn An"
    assert dossiers(service) == 0  # nothing received: no code, no process, no SMS

    for declaration in draft["declarations"]:
        pdf = an.get(declaration["url"])
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
        assert "Nguyễn Minh Khang" in text or "NGUYỄN MINH KHANG" in text.upper()
    assert an.get(f"/api/dossiers/drafts/{draft['id']}").get_json() == draft

    with use_gateway(Recorder()):
        filed = an.post(draft["confirmUrl"])
        assert filed.status_code == 201, filed.get_json()
    code = filed.get_json()["code"]
    assert filed.get_json()["trackingSecret"] and [p["part"] for p in filed.get_json()["parts"]] == ["birth", "residence", "bhyt"]
    with service.engine.db.reading() as session:
        assert session.get(Dossier, code).owner_id == AN
    assert an.get(f"/api/dossiers/drafts/{draft['id']}").get_json()["dossierCode"] == code
    again = an.post(draft["confirmUrl"])
    assert again.status_code == 409 and code in again.get_json()["message"]
    assert dossiers(service) == 1
    assert {resource for _, resource in audited(service, "draft-declaration")} == {
        f"{draft['id']}/{form}" for form in ("birth", "residence", "bhyt")}


def test_an_invalid_draft_names_every_field_and_stores_nothing(service):
    an = service.citizen(AN)
    refused = an.post("/api/dossiers/drafts", json={"procedure": "birth", "declaration": birth_declaration(
        child__fullName="123", mother__birthYear=2021)})
    assert refused.status_code == 400
    assert set(refused.get_json()["fieldErrors"]) >= {"declaration.child.fullName", "declaration.mother.birthYear"}


def test_only_the_account_that_made_a_draft_sees_or_confirms_it(service):
    an, binh = service.citizen(AN), service.citizen(BINH)
    officer = service.officer("officer.a", "H19.87.001")
    draft = an.post("/api/dossiers/drafts", json={"procedure": "birth", "declaration": birth_declaration()}).get_json()
    for client in (binh, officer):
        for method, path in (("get", f"/api/dossiers/drafts/{draft['id']}"),
                             ("get", f"/api/dossiers/drafts/{draft['id']}/declarations/birth.pdf"),
                             ("post", draft["confirmUrl"])):
            answer = getattr(client, method)(path)
            assert answer.status_code == 404, (path, answer.get_json())
            assert "Nguyễn" not in answer.get_data(as_text=True)
    assert dossiers(service) == 0


def test_a_confirmation_is_validated_again(service):
    """The same child filed between the draft and its confirmation: refused, naming that dossier."""
    an = service.citizen(AN)
    draft = an.post("/api/dossiers/drafts", json={"procedure": "birth", "declaration": birth_declaration()}).get_json()
    with use_gateway(Recorder()):
        first = an.post("/api/dossiers", json={"procedure": "birth", "declaration": birth_declaration()}).get_json()["code"]
        refused = an.post(draft["confirmUrl"])
    assert refused.status_code == 400 and first in refused.get_json()["fieldErrors"]["declaration.child"][0]


def test_the_declaration_is_prefilled_from_the_register_for_the_citizen_logged_in(service):
    an = service.citizen(AN)
    answer = an.get("/api/dossiers/prefill?procedure=birth")
    assert answer.status_code == 200, answer.get_json()
    prefilled = answer.get_json()
    assert prefilled["declaration"] == {
        "requester": {"fullName": "Nguyễn Văn An", "idNumber": AN, "residence": "Ấp 1, xã Mỹ An, Đồng Tháp",
                      "relationship": "cha"},
        "father": {"fullName": "Nguyễn Văn An", "idNumber": AN, "birthYear": 1984, "residence": "Ấp 1, xã Mỹ An, Đồng Tháp"},
        "mother": {"fullName": "Trần Thị Bình", "idNumber": BINH, "birthYear": 1990,
                   "residence": "Ấp 1, xã Mỹ An, Đồng Tháp"}}
    assert prefilled["household"]["head"] == "Nguyễn Văn An"
    assert [m["relationship"] for m in prefilled["household"]["members"]][:2] == ["Chủ hộ", "Vợ"]
    # The mother logged in gets the same parents, herself as the requester.
    binh = service.citizen(BINH).get("/api/dossiers/prefill?procedure=birth").get_json()["declaration"]
    assert binh["requester"]["relationship"] == "mẹ" and binh["father"]["idNumber"] == AN
    # A death: the requester and the household (whom the citizen declares dead is theirs to name).
    death = an.get("/api/dossiers/prefill?procedure=death").get_json()
    assert set(death["declaration"]) == {"requester"} and death["household"]["householdId"] == "HGD-087-000777"
    assert audited(service, "population") == [(AN, AN), (BINH, BINH), (AN, AN)]


def test_prefill_answers_what_it_cannot(service):
    stranger = service.citizen("001099000001")
    missing = stranger.get("/api/dossiers/prefill?procedure=birth")
    assert missing.status_code == 404 and "Cơ sở dữ liệu quốc gia về dân cư" in missing.get_json()["message"]
    assert service.citizen(AN).get("/api/dossiers/prefill?procedure=marriage").status_code == 400
    # Only a citizen is pre-filled (from their own login): an officer is not a citizen of the register.
    assert service.officer("officer.a", "H19.87.001").get("/api/dossiers/prefill?procedure=birth").status_code == 403
