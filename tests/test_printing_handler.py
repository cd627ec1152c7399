"""handlers/printing.py: the service task "declarations.print", called with a hand-built TaskContext
against a real ProcessEngine on SQLite and PostgreSQL (the `engine` fixture of tests/conftest.py),
for a birth dossier and a death dossier."""
from __future__ import annotations

import hashlib
import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from dossiers.models import Dossier, DossierDocument
from engine.handler_registry import TaskContext, registry
from forms.extraction import extract_declarations
from registers.population import LocalRegister
from handlers.printing import ENVIRONMENT_VARIABLE, TOPIC, print_declarations, printing_enabled
from tests.birth_examples import birth_declaration
from tests.death_examples import death_declaration

CODE = "H19.87.001-240603-0001"
RECEIVED_AT = datetime(2024, 6, 3, 2, 0, tzinfo=timezone.utc)  # 09:00 in Hanoi
WHERE = re.escape("service task 'Task_Print' (declarations.print)")


def declarations(parts=("birth", "residence", "bhyt")) -> dict[str, dict]:
    household = LocalRegister().household("HGD-087-000777").to_json()
    return extract_declarations(birth_declaration(parts=list(parts)), received_on=date(2024, 6, 3), household=household)


def task(engine, **variables) -> TaskContext:
    return TaskContext(topic=TOPIC, variables=variables, properties={}, instance_id="pi-1", business_key=CODE,
                       activity_id="Task_Print", definition_key="birth_linked", idempotency_key="job-1",
                       services=engine)


def add_dossier(engine, code: str = CODE) -> None:
    """The minimal dossier row the documents' foreign key needs."""
    with engine.db.session() as session:
        session.add(Dossier(code=code, procedure="birth", agency_code="H19.87.001", instance_id="pi-1",
                            state="received", received_at=RECEIVED_AT, delivery="electronic", phone="0912345678",
                            declaration=birth_declaration()))


def documents(engine) -> dict[str, DossierDocument]:
    with engine.db.session() as session:
        rows = session.scalars(select(DossierDocument).where(DossierDocument.dossier_code == CODE)).all()
        session.expunge_all()
        return {row.form: row for row in rows}


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


@pytest.fixture(autouse=True)
def printing_on(monkeypatch):
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)


def test_the_handler_is_registered():
    assert registry.get("declarations.print") is print_declarations


def test_each_declaration_is_printed_and_stored_with_the_dossier(engine):
    add_dossier(engine)
    result = print_declarations(task(engine, declarations=declarations(), dossierCode=CODE))
    assert result == {"printedDeclarations": ["birth", "residence", "bhyt"]}

    stored = documents(engine)
    assert set(stored) == {"birth", "residence", "bhyt"}
    titles = {"birth": "TỜ KHAI ĐĂNG KÝ KHAI SINH", "residence": "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ",
              "bhyt": "TỜ KHAI THAM GIA, ĐIỀU CHỈNH THÔNG TIN BẢO HIỂM XÃ HỘI, BẢO HIỂM Y TẾ"}
    for form, row in stored.items():
        assert row.media_type == "application/pdf" and row.content.startswith(b"%PDF-")
        assert row.sha256 == hashlib.sha256(row.content).hexdigest()
        assert row.created == engine.clock.now()
        text = text_of(row.content)
        assert titles[form] in text and "Nguyễn Minh Khang" in text
        assert "UBND xã Mỹ An, ngày 03 tháng 06 năm 2024" in text  # made at the agency, on the receipt date


def test_a_retry_replaces_the_documents(engine):
    add_dossier(engine)
    print_declarations(task(engine, declarations=declarations(), dossierCode=CODE))
    engine.clock.advance(timedelta(minutes=10))
    again = print_declarations(task(engine, declarations=declarations(), dossierCode=CODE))
    assert again == {"printedDeclarations": ["birth", "residence", "bhyt"]}
    stored = documents(engine)
    assert len(stored) == 3
    assert all(row.sha256 == hashlib.sha256(row.content).hexdigest() for row in stored.values())


def test_two_parts_print_two_declarations(engine):
    add_dossier(engine)
    result = print_declarations(task(engine, declarations=declarations(("birth", "bhyt")), dossierCode=CODE))
    assert result == {"printedDeclarations": ["birth", "bhyt"]}
    assert set(documents(engine)) == {"birth", "bhyt"}


def test_printing_off_stores_nothing_but_reports_the_forms(engine, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "off")
    add_dossier(engine)
    result = print_declarations(task(engine, declarations=declarations(), dossierCode=CODE))
    assert result == {"printedDeclarations": ["birth", "residence", "bhyt"]}
    assert documents(engine) == {}


@pytest.mark.parametrize("value, enabled", [("on", True), ("", True), ("ON", True), ("1", True), ("off", False),
                                            (" Off ", False), ("0", False), ("false", False)])
def test_the_switch(monkeypatch, value, enabled):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, value)
    assert printing_enabled() is enabled


def test_a_misspelt_switch_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "of")
    with pytest.raises(ValueError, match="LIENTHONG_PRINTING must be 'on' or 'off', not 'of'"):
        printing_enabled()


@pytest.mark.parametrize("variables, message", [
    ({"dossierCode": CODE}, "process variable 'declarations' is missing or empty"),
    ({"declarations": {}, "dossierCode": CODE}, "process variable 'declarations' is missing or empty"),
    ({"declarations": {"survivor": {}}, "dossierCode": CODE}, "no printed form for 'survivor'"),
    ({"declarations": {"birth": {}}}, "process variable 'dossierCode' is missing"),
    ({"declarations": {"birth": {}}, "dossierCode": " "}, "process variable 'dossierCode' is missing"),
    ({"declarations": {"birth": "x"}, "dossierCode": CODE}, "the birth declaration is not an object"),
    ({"declarations": {"birth": {"place": "x"}}, "dossierCode": CODE}, "the birth declaration has no ISO 'declaredOn'"),
])
def test_bad_variables_raise_value_errors(variables, message):
    with pytest.raises(ValueError, match=rf"^{WHERE}: {message}"):
        print_declarations(task(None, **variables))


def test_nothing_is_stored_when_one_form_fails_to_render(engine):
    add_dossier(engine)
    broken = declarations()
    del broken["bhyt"]["declaredOn"]
    with pytest.raises(ValueError):
        print_declarations(task(engine, declarations=broken, dossierCode=CODE))
    assert documents(engine) == {}


# --- a death dossier --------------------------------------------------------------------------------

DEATH_CODE = "H19.87.001-261123-0001"


def death_declarations(parts=("death", "residence", "funeral", "survivor")) -> dict[str, dict]:
    household = {"householdId": "HGD-087-000777", "address": "Ấp 1, xã Mỹ An, Đồng Tháp", "members": [
        {"idNumber": "087084000999", "fullName": "Nguyễn Văn An", "dateOfBirth": "1984-01-15", "sex": "male",
         "relationship": "Chủ hộ"},
        {"idNumber": "087040000888", "fullName": "Nguyễn Văn Tám", "dateOfBirth": "1940-02-15", "sex": "male",
         "relationship": "Bố"}]}
    return extract_declarations(death_declaration(parts=list(parts)), procedure="death", received_on=date(2026, 11, 23),
                                household=household)


def add_death_dossier(engine) -> None:
    with engine.db.session() as session:
        session.add(Dossier(code=DEATH_CODE, procedure="death", agency_code="H19.87.001", instance_id="pi-2",
                            state="received", received_at=datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc),
                            delivery="electronic", phone="0912345678", declaration=death_declaration()))


def test_a_death_dossiers_declarations_are_printed_and_stored(engine):
    add_death_dossier(engine)
    result = print_declarations(task(engine, declarations=death_declarations(), dossierCode=DEATH_CODE))
    assert result == {"printedDeclarations": ["death", "residence", "funeral"]}
    with engine.db.session() as session:
        rows = session.scalars(select(DossierDocument).where(DossierDocument.dossier_code == DEATH_CODE)).all()
        stored = {row.form: text_of(row.content) for row in rows}
    titles = {"death": "TỜ KHAI ĐĂNG KÝ KHAI TỬ", "residence": "Xóa đăng ký thường trú do người trong hộ đã chết",
              "funeral": "TỜ KHAI ĐỀ NGHỊ HỖ TRỢ CHI PHÍ MAI TÁNG"}
    assert set(stored) == set(titles)
    for form, text in stored.items():
        assert titles[form] in text
        assert "UBND xã Mỹ An, ngày 23 tháng 11 năm 2026" in text
    assert "NGUYỄN VĂN TÁM" in stored["funeral"] and "Nguyễn Văn Tám" in stored["death"]


def test_a_two_part_death_dossier_prints_two_declarations(engine, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "off")
    result = print_declarations(task(engine, declarations=death_declarations(("death", "residence")),
                                     dossierCode=DEATH_CODE))
    assert result == {"printedDeclarations": ["death", "residence"]}


# --- printing again once the child's personal ID number is issued (issue 15) --------------------

CHILD_ID = "087224004711"  # Đồng Tháp, a boy born in 2024 (tests.birth_examples: Nguyễn Minh Khang)


def reprint(engine, childIdNumber=CHILD_ID, **properties) -> tuple[dict, dict]:
    first = declarations()
    context = TaskContext(topic=TOPIC, variables={"declarations": first, "dossierCode": CODE, "childIdNumber": childIdNumber},
                          properties={"forms": "residence,bhyt", "childIdVariable": "childIdNumber", **properties},
                          instance_id="pi-1", business_key=CODE, activity_id="Task_PrintWithChildId",
                          definition_key="birth_linked", idempotency_key="job-2", services=engine)
    return first, print_declarations(context)


def test_the_bhyt_declaration_printed_after_the_birth_carries_the_childs_number(engine):
    add_dossier(engine)
    first, result = reprint(engine)
    assert first["bhyt"]["idNumber"] is None and first["residence"]["members"][0]["idNumber"] is None
    assert result["printedDeclarations"] == ["residence", "bhyt"]  # the birth declaration is not printed again
    assert result["declarations"]["bhyt"]["idNumber"] == CHILD_ID  # what BHXH is handed from now on
    assert result["declarations"]["residence"]["members"][0]["idNumber"] == CHILD_ID
    assert result["declarations"]["birth"] == first["birth"]
    printed = documents(engine)
    assert set(printed) == {"residence", "bhyt"}
    assert CHILD_ID in text_of(printed["bhyt"].content).replace(" ", "")
    assert CHILD_ID in text_of(printed["residence"].content).replace(" ", "")


def test_a_number_that_is_not_the_childs_is_refused(engine):
    with pytest.raises(ValueError, match="idNumber"):
        reprint(engine, childIdNumber="087324004711")  # a girl's number for a boy
    with pytest.raises(ValueError, match="'childIdNumber'"):
        reprint(engine, childIdNumber=None)
    with pytest.raises(ValueError, match="'forms'"):
        reprint(engine, forms="bhyt,passport")
