"""forms/extraction.py and the extracted declarations' schemas: birth_registration, residence (CT01) and bhyt for
the birth group; death_registration, residence (CT01 deletion) and funeral (form 04) for the death group."""
from __future__ import annotations

import copy
from datetime import date

import pytest
from marshmallow import ValidationError

import forms  # noqa: F401  (registers the schemas)
from engine import form_registry as engine_forms
from forms.bhyt import FREE_UNDER_SIX, BhytDeclarationSchema
from forms.birth_registration import BirthRegistrationSchema
from forms.death_registration import DeathRegistrationSchema
from forms.extraction import DEFAULT_CLINIC, ExtractionError, child_relationship_to_head, extract_declarations
from forms.funeral import FuneralSupportSchema
from forms.residence import DECEASED_REQUEST, ResidenceDeclarationSchema
from registers.population import LocalRegister
from tests.birth_examples import DELETE, birth_declaration
from tests.death_examples import death_declaration

RECEIVED = date(2024, 6, 3)
HOUSEHOLD = LocalRegister().household("HGD-087-000777").to_json()  # Nguyễn Văn An (head) and Trần Thị Bình (wife)
PHONE_INVALID = ("Số điện thoại liên hệ không hợp lệ: hãy nhập số di động Việt Nam gồm 10 chữ số, "
                 "ví dụ 0912345678 hoặc +84912345678.")


def extract(household=HOUSEHOLD, received_on=RECEIVED, **changes) -> dict[str, dict]:
    return extract_declarations(birth_declaration(**changes), received_on=received_on, household=household)


def household(*members: tuple[str, str, str, str, str], address="Số 1 đường Lê Lợi, phường 1, Cao Lãnh") -> dict:
    """(idNumber, fullName, dateOfBirth, sex, relationship) for each member."""
    return {"householdId": "HGD-087-999999", "address": address,
            "members": [{"idNumber": n, "fullName": f, "dateOfBirth": d, "sex": s, "relationship": r}
                        for n, f, d, s, r in members]}


MOTHER = ("087190001234", "Trần Thị Bình", "1990-07-08", "female")
FATHER = ("087084000999", "Nguyễn Văn An", "1984-01-15", "male")
GRANDMOTHER = ("087165001111", "Lê Thị Hoa", "1965-02-01", "female")


# --- which declarations ---------------------------------------------------------------------------

@pytest.mark.parametrize("parts", [["birth", "residence", "bhyt"], ["birth", "bhyt"], ["birth", "residence"],
                                   ["bhyt", "birth"]])
def test_one_declaration_per_chosen_part_in_canonical_order(parts):
    extracted = extract(parts=parts)
    assert list(extracted) == [p for p in ("birth", "residence", "bhyt") if p in parts]


def test_every_extraction_is_valid_against_its_registered_schema():
    extracted = extract()
    for part, name in (("birth", "birth-registration"), ("residence", "residence-declaration"),
                       ("bhyt", "bhyt-declaration")):
        schema = engine_forms.registry.get(name)
        assert schema is not None, name
        assert schema().load(extracted[part]) == extracted[part]  # already loaded: loads to itself


def test_the_input_is_not_modified():
    data = birth_declaration()
    before = copy.deepcopy(data)
    members_before = copy.deepcopy(HOUSEHOLD)
    extract_declarations(data, received_on=RECEIVED, household=HOUSEHOLD)
    assert data == before and HOUSEHOLD == members_before


# --- birth registration -----------------------------------------------------------------------------

def test_the_birth_registration_carries_the_citizens_values():
    birth = extract()["birth"]
    declared = birth_declaration()
    assert birth["receivingAgency"] == "UBND xã Mỹ An"
    assert birth["requester"] == {"fullName": "Nguyễn Văn An", "idNumber": "087084000999",
                                  "residence": "Ấp 1, xã Mỹ An, Đồng Tháp", "relationship": "cha"}
    assert birth["child"] == {**declared["child"],
                              "dateOfBirthInWords": "Ngày hai mươi tháng năm năm hai nghìn không trăm hai mươi bốn"}
    assert (birth["mother"], birth["father"], birth["marriage"]) == (declared["mother"], declared["father"],
                                                                      declared["marriage"])
    assert (birth["copies"], birth["place"], birth["declaredOn"]) == (2, "UBND xã Mỹ An", "2024-06-03")


def test_no_father_no_marriage():
    birth = extract(father=None, marriage=None)["birth"]
    assert birth["father"] is None and birth["marriage"] is None


def test_the_birth_registration_schema_refuses_inconsistent_words_and_dates():
    birth = extract()["birth"]
    with pytest.raises(ValidationError) as refused:
        BirthRegistrationSchema().load({**birth, "child": {**birth["child"], "dateOfBirthInWords": "Ngày hai mươi"}})
    assert refused.value.messages == {"child": {"dateOfBirthInWords": [
        "Ngày sinh ghi bằng chữ phải là: Ngày hai mươi tháng năm năm hai nghìn không trăm hai mươi bốn."]}}
    with pytest.raises(ValidationError) as refused:
        BirthRegistrationSchema().load({**birth, "declaredOn": "2024-05-19"})
    assert refused.value.messages == {"child": {"dateOfBirth": ["Ngày sinh không được sau ngày làm tờ khai."]}}
    with pytest.raises(ValidationError) as refused:
        BirthRegistrationSchema().load({key: value for key, value in birth.items() if key != "father"})
    assert refused.value.messages == {"father": ["Vui lòng khai thông tin của cha."]}  # null, yes; absent, no


# --- residence (CT01) -------------------------------------------------------------------------------

def test_the_residence_declaration_with_the_register_household():
    residence = extract(requester__email=" an@example.vn ")["residence"]
    assert residence == {
        "receivingAgency": "UBND xã Mỹ An",
        "declarant": {"fullName": "Nguyễn Văn An", "dateOfBirth": "1984-01-15", "sex": "male",
                      "idNumber": "087084000999", "phone": "0912345678", "email": "an@example.vn",
                      "relationshipToHead": "Chủ hộ"},
        "headOfHousehold": {"fullName": "Nguyễn Văn An", "idNumber": "087084000999"},
        "request": "Đăng ký thường trú cho trẻ mới sinh tại nơi thường trú của cha, mẹ: Ấp 1, xã Mỹ An, Đồng Tháp",
        "members": [{"fullName": "Nguyễn Minh Khang", "dateOfBirth": "2024-05-20", "sex": "male",
                     "idNumber": None, "relationship": "Con"}],
        "place": "UBND xã Mỹ An",
        "declaredOn": "2024-06-03",
    }


def test_the_mother_living_with_her_parents_makes_the_child_a_grandchild():
    grandparents = household(GRANDMOTHER + ("Chủ hộ",), MOTHER + ("Con",))
    residence = extract(household=grandparents)["residence"]
    assert residence["headOfHousehold"] == {"fullName": "Lê Thị Hoa", "idNumber": "087165001111"}
    assert residence["members"][0]["relationship"] == "Cháu"
    # The father lives elsewhere: the child registers at the mother's.
    assert residence["request"] == ("Đăng ký thường trú cho trẻ mới sinh tại nơi thường trú của mẹ: "
                                    "Số 1 đường Lê Lợi, phường 1, Cao Lãnh")
    # The requester (the father) is not a member: the register does not say his date of birth.
    assert residence["declarant"]["dateOfBirth"] is None and residence["declarant"]["relationshipToHead"] is None


def test_the_mother_as_head():
    residence = extract(household=household(MOTHER + ("chủ hộ",), FATHER + ("Chồng",)))["residence"]
    assert residence["headOfHousehold"]["fullName"] == "Trần Thị Bình"
    assert residence["declarant"]["relationshipToHead"] == "Chồng"
    assert residence["members"][0]["relationship"] == "Con"


@pytest.mark.parametrize("relationships, child", [
    (["Chủ hộ"], "Con"), (["Vợ"], "Con"), (["chồng"], "Con"), (["Con"], "Cháu"), (["Con dâu"], "Cháu"),
    (["Con rể"], "Cháu"), (["Em"], None), (["Khác"], None), ([], None), (["Em", "Chủ hộ"], "Con"),
])
def test_the_childs_relationship_to_the_head(relationships, child):
    assert child_relationship_to_head(relationships) == child


def test_without_a_household_the_head_prints_blank():
    residence = extract(household=None)["residence"]
    assert residence["headOfHousehold"] is None
    assert residence["declarant"]["relationshipToHead"] is None and residence["declarant"]["dateOfBirth"] is None
    assert residence["members"][0]["relationship"] is None
    assert residence["request"].endswith("của cha, mẹ: Ấp 1, xã Mỹ An, Đồng Tháp")  # same residence declared
    moved = extract(household=None, father__residence="Số 3 đường Lạch Tray, Hải Phòng")["residence"]
    assert "của mẹ: Ấp 1, xã Mỹ An, Đồng Tháp" in moved["request"]


def test_the_declarants_sex_comes_from_the_id_number():
    residence = extract(household=None, requester__fullName="Trần Thị Bình", requester__idNumber="087190001234",
                        requester__relationship="mẹ")["residence"]
    assert residence["declarant"]["sex"] == "female"


@pytest.mark.parametrize("bad, message", [
    ({"householdId": "X", "address": "Ấp 1", "members": "nobody"}, "list of members"),
    ({"householdId": "X", "address": " ", "members": []}, "has no address"),
    ({"householdId": "X", "address": "Ấp 1", "members": [{"idNumber": "087190001234"}]}, "lacks idNumber"),
    (household(MOTHER + ("Vợ",)), "has 0 heads"),
    (household(MOTHER + ("Chủ hộ",), FATHER + ("Chủ hộ",)), "has 2 heads"),
    (household(GRANDMOTHER + ("Chủ hộ",)), "does not list the mother 087190001234"),
])
def test_a_bad_household_fails_loudly(bad, message):
    with pytest.raises(ExtractionError, match=message):
        extract(household=bad)


def test_the_residence_schema():
    residence = extract()["residence"]
    schema = ResidenceDeclarationSchema()
    with pytest.raises(ValidationError) as refused:
        schema.load({**residence, "members": []})
    assert refused.value.messages == {"members": ["Vui lòng khai ít nhất một thành viên hộ gia đình cùng thay đổi."]}
    with pytest.raises(ValidationError) as refused:
        schema.load({**residence, "declarant": {**residence["declarant"], "phone": "12345", "sex": "female"}})
    assert refused.value.messages == {"declarant": {"phone": [PHONE_INVALID]}}  # the ID check waits for clean fields
    with pytest.raises(ValidationError) as refused:
        schema.load({**residence, "declarant": {**residence["declarant"], "sex": "female"}})
    assert refused.value.messages == {"declarant": {"idNumber": [
        "Số định danh cá nhân là của người nam (chữ số thứ 4), không khớp với giới tính nữ đã khai."]}}
    child_with_id = {**residence["members"][0], "idNumber": "087224000123"}
    assert schema.load({**residence, "members": [child_with_id]})["members"][0]["idNumber"] == "087224000123"
    with pytest.raises(ValidationError) as refused:
        schema.load({**residence, "members": [{**child_with_id, "idNumber": "087223000123"}]})
    assert list(refused.value.messages["members"][0]) == ["idNumber"]


# --- BHYT (TK1-TS) --------------------------------------------------------------------------------

def test_the_bhyt_declaration():
    bhyt = extract()["bhyt"]
    assert bhyt == {
        "fullName": "Nguyễn Minh Khang", "dateOfBirth": "2024-05-20", "sex": "male", "nationality": "Việt Nam",
        "ethnicity": "Kinh", "birthRegistrationPlace": "UBND xã Mỹ An", "resultAddress": "Ấp 1, xã Mỹ An, Đồng Tháp",
        "idNumber": None, "phone": "0912345678", "guardianName": "Nguyễn Văn An", "contributionLevel": FREE_UNDER_SIX,
        "clinic": DEFAULT_CLINIC, "declarantName": "Nguyễn Văn An", "place": "UBND xã Mỹ An", "declaredOn": "2024-06-03",
    }
    assert FREE_UNDER_SIX == "Ngân sách nhà nước đóng (trẻ em dưới 6 tuổi)"
    assert DEFAULT_CLINIC == "Trạm y tế xã nơi thường trú"


def test_the_citizens_clinic_and_a_grandparent_filing():
    bhyt = extract(clinic="Trạm y tế xã Mỹ An", requester__fullName="Đặng Thị Lan", requester__idNumber="001165007788",
                   requester__relationship="bà ngoại", parts=["birth", "bhyt"])["bhyt"]
    assert bhyt["clinic"] == "Trạm y tế xã Mỹ An"
    assert bhyt["guardianName"] == "Trần Thị Bình"  # the mother, not the grandmother who files
    assert bhyt["declarantName"] == "Đặng Thị Lan"


def test_the_bhyt_schema_is_for_a_child_under_six():
    bhyt = extract()["bhyt"]
    schema = BhytDeclarationSchema()
    with pytest.raises(ValidationError) as refused:
        schema.load({**bhyt, "declaredOn": "2030-05-20"})
    assert refused.value.messages == {"dateOfBirth": [
        "Thẻ BHYT miễn phí chỉ dành cho trẻ em dưới 6 tuổi (dưới 72 tháng tuổi)."]}
    assert schema.load({**bhyt, "declaredOn": "2030-05-19"})["declaredOn"] == "2030-05-19"
    with pytest.raises(ValidationError) as refused:
        schema.load({**bhyt, "contributionLevel": "Tự đóng"})
    assert list(refused.value.messages) == ["contributionLevel"]
    assert schema.load({**bhyt, "idNumber": "087 224 000 123"})["idNumber"] == "087224000123"
    with pytest.raises(ValidationError) as refused:
        schema.load({**bhyt, "idNumber": "087225000123"})
    assert list(refused.value.messages) == ["idNumber"]
    with pytest.raises(ValidationError) as refused:
        schema.load({**bhyt, "cardNumber": "TE1"})
    assert refused.value.messages == {"cardNumber": ["Tờ khai không có mục này."]}


# --- bad input --------------------------------------------------------------------------------------

def test_an_invalid_citizen_declaration_names_the_field():
    with pytest.raises(ExtractionError, match=r"not valid: .*'mother': \{'idNumber'"):
        extract(mother__idNumber="087090001234")
    with pytest.raises(ExtractionError, match="'phone'"):
        extract(requester__phone=DELETE)


def test_the_child_must_be_born_by_the_receipt_date():
    with pytest.raises(ExtractionError, match="dateOfBirth"):
        extract(received_on=date(2024, 5, 19))


@pytest.mark.parametrize("declaration, received_on, message", [
    (None, RECEIVED, "must be an object"),
    ([], RECEIVED, "must be an object"),
    (birth_declaration(), "2024-06-03", "received_on must be a date"),
])
def test_wrong_types(declaration, received_on, message):
    with pytest.raises(ExtractionError, match=message):
        extract_declarations(declaration, received_on=received_on)


def test_extraction_errors_are_value_errors():
    assert issubclass(ExtractionError, ValueError)


# === the death group ===================================================================================

DIED_RECEIVED = date(2026, 11, 23)
AN = ("087084000999", "Nguyễn Văn An", "1984-01-15", "male")
TAM = ("087040000888", "Nguyễn Văn Tám", "1940-02-15", "male")
# As the population sample has it: An is the head, his father Tám lives with him.
TAM_AT_ANS = household(AN + ("Chủ hộ",), MOTHER + ("Vợ",), TAM + ("Bố",), address="Ấp 1, xã Mỹ An, Đồng Tháp")


def extract_death(household=TAM_AT_ANS, received_on=DIED_RECEIVED, **changes) -> dict[str, dict]:
    return extract_declarations(death_declaration(**changes), procedure="death", received_on=received_on,
                                household=household)


@pytest.mark.parametrize("parts, declarations", [
    (["death", "residence"], ["death", "residence"]),
    (["death", "residence", "funeral"], ["death", "residence", "funeral"]),
    (["survivor", "funeral", "residence", "death"], ["death", "residence", "funeral"]),  # survivor: none of its own
])
def test_death_one_declaration_per_part_that_has_one(parts, declarations):
    assert list(extract_death(parts=parts)) == declarations


def test_death_every_extraction_is_valid_against_its_registered_schema():
    extracted = extract_death()
    for part, name in (("death", "death-registration"), ("residence", "residence-declaration"),
                       ("funeral", "funeral-support")):
        schema = engine_forms.registry.get(name)
        assert schema is not None, name
        assert schema().load(extracted[part]) == extracted[part]


def test_death_the_input_is_not_modified():
    data = death_declaration()
    before, household_before = copy.deepcopy(data), copy.deepcopy(TAM_AT_ANS)
    extract_declarations(data, procedure="death", received_on=DIED_RECEIVED, household=TAM_AT_ANS)
    assert data == before and TAM_AT_ANS == household_before


def test_the_death_registration_carries_the_citizens_values():
    assert extract_death()["death"] == {
        "receivingAgency": "UBND xã Mỹ An",
        "requester": {"fullName": "Nguyễn Văn An", "dateOfBirth": "1984-01-15", "residence": "Ấp 1, xã Mỹ An, Đồng Tháp",
                      "idNumber": "087084000999", "relationship": "con"},
        "deceased": {"fullName": "Nguyễn Văn Tám", "dateOfBirth": "1940-02-15", "sex": "male", "ethnicity": "Kinh",
                     "nationality": "Việt Nam", "lastResidence": "Ấp 1, xã Mỹ An, Đồng Tháp", "idNumber": "087040000888"},
        "death": {"diedAt": "2026-11-20T05:30", "place": "Tại nhà, Ấp 1, xã Mỹ An, Đồng Tháp", "cause": "Bệnh già",
                  "noticeNumber": "GBT-2026-0415", "noticeIssuedBy": "Trạm y tế xã Mỹ An", "noticeIssuedOn": "2026-11-20"},
        "copies": 2,
        "place": "UBND xã Mỹ An",
        "declaredOn": "2026-11-23",
    }


def test_the_residence_deletion_names_the_deceased_as_the_member():
    assert extract_death(requester__email="an@example.vn")["residence"] == {
        "receivingAgency": "UBND xã Mỹ An",
        "declarant": {"fullName": "Nguyễn Văn An", "dateOfBirth": "1984-01-15", "sex": "male",
                      "idNumber": "087084000999", "phone": "0912345678", "email": "an@example.vn",
                      "relationshipToHead": "Chủ hộ"},
        "headOfHousehold": {"fullName": "Nguyễn Văn An", "idNumber": "087084000999"},
        "request": "Xóa đăng ký thường trú do người trong hộ đã chết",
        "members": [{"fullName": "Nguyễn Văn Tám", "dateOfBirth": "1940-02-15", "sex": "male",
                     "idNumber": "087040000888", "relationship": "Bố"}],
        "place": "UBND xã Mỹ An",
        "declaredOn": "2026-11-23",
    }
    assert DECEASED_REQUEST == "Xóa đăng ký thường trú do người trong hộ đã chết"


def test_the_deceased_as_head_and_a_requester_living_elsewhere():
    his_own = household(TAM + ("Chủ hộ",), GRANDMOTHER + ("Vợ",), address="Ấp 1, xã Mỹ An, Đồng Tháp")
    residence = extract_death(household=his_own)["residence"]
    assert residence["headOfHousehold"] == {"fullName": "Nguyễn Văn Tám", "idNumber": "087040000888"}
    assert residence["members"][0]["relationship"] == "Chủ hộ"
    # The requester is not a member: no relationship to the head, but he declared his date of birth.
    assert residence["declarant"]["relationshipToHead"] is None
    assert residence["declarant"]["dateOfBirth"] == "1984-01-15"


def test_death_without_a_household_the_head_prints_blank():
    residence = extract_death(household=None)["residence"]
    assert residence["headOfHousehold"] is None and residence["declarant"]["relationshipToHead"] is None
    assert residence["members"][0]["relationship"] is None and residence["members"][0]["idNumber"] == "087040000888"
    assert residence["request"] == DECEASED_REQUEST


def test_a_household_without_the_deceased_fails_loudly():
    with pytest.raises(ExtractionError, match="does not list the deceased 087040000888: pass the deceased's household"):
        extract_death(household=household(AN + ("Chủ hộ",), MOTHER + ("Vợ",)))
    with pytest.raises(ExtractionError, match="has 0 heads"):
        extract_death(household=household(TAM + ("Bố",)))


def test_the_funeral_support_request():
    assert extract_death()["funeral"] == {
        "receivingAgency": "UBND xã Mỹ An",
        "deceased": {"fullName": "NGUYỄN VĂN TÁM", "dateOfBirth": "1940-02-15", "sex": "male", "ethnicity": "Kinh",
                     "residence": "Ấp 1, xã Mỹ An, Đồng Tháp", "diedOn": "2026-11-20", "cause": "Bệnh già"},
        "burial": {"date": "2026-11-22", "place": "Nghĩa trang nhân dân xã Mỹ An"},
        "organiser": {"fullName": "Nguyễn Văn An", "dateOfBirth": "1984-01-15", "idNumber": "087084000999",
                      "residence": "Ấp 1, xã Mỹ An, Đồng Tháp", "relationship": "con"},
        "place": "UBND xã Mỹ An",
        "declaredOn": "2026-11-23",
    }


def test_the_funeral_date_of_death_is_the_vietnam_day():
    funeral = extract_death(death__diedAt="2026-11-19T22:30Z")["funeral"]  # 05:30 on the 20th in Hanoi
    assert funeral["deceased"]["diedOn"] == "2026-11-20"


def test_death_an_invalid_citizen_declaration_names_the_field():
    with pytest.raises(ExtractionError, match=r"the citizen's death declaration is not valid: .*'burial': \{'place'"):
        extract_death(burial__place=DELETE)
    with pytest.raises(ExtractionError, match="'diedAt'"):  # the burial after the receipt date
        extract_death(received_on=date(2026, 11, 19))


def test_the_procedure_chooses_the_citizens_schema():
    with pytest.raises(ExtractionError, match="the citizen's birth declaration is not valid"):
        extract_declarations(death_declaration(), received_on=DIED_RECEIVED)  # the default: birth
    with pytest.raises(ExtractionError, match="the citizen's death declaration is not valid"):
        extract_declarations(birth_declaration(), procedure="death", received_on=RECEIVED)
    with pytest.raises(ExtractionError, match="unknown procedure 'marriage'; known: birth, death"):
        extract_declarations(death_declaration(), procedure="marriage", received_on=DIED_RECEIVED)


# --- the death registration, residence deletion and funeral support schemas -----------------------------

def _refusal(schema, data) -> dict:
    with pytest.raises(ValidationError) as refused:
        schema.load(data)
    return refused.value.messages


def test_the_death_registration_schema():
    death = extract_death()["death"]
    schema = DeathRegistrationSchema()
    assert _refusal(schema, {**death, "declaredOn": "2026-11-19"}) == {
        "death": {"diedAt": ["Ngày chết không được sau ngày làm tờ khai."],
                  "noticeIssuedOn": ["Ngày cấp giấy báo tử không được sau ngày làm tờ khai."]}}
    assert _refusal(schema, {**death, "death": {**death["death"], "noticeIssuedOn": "2026-11-19"}}) == {
        "death": {"noticeIssuedOn": ["Ngày cấp giấy báo tử không được trước ngày chết."]}}
    assert _refusal(schema, {**death, "death": {**death["death"], "diedAt": "1939-01-01T00:00",
                                                "noticeIssuedOn": "1939-01-02"}}) == {
        "death": {"diedAt": ["Ngày chết không được trước ngày sinh của người đã chết."]}}
    assert _refusal(schema, {**death, "deceased": {**death["deceased"], "sex": "female"}}) == {"deceased": {"idNumber": [
        "Số định danh cá nhân là của người nam (chữ số thứ 4), không khớp với giới tính nữ đã khai."]}}
    assert _refusal(schema, {**death, "requester": {**death["requester"], "dateOfBirth": "1985-01-15"}}) == {
        "requester": {"idNumber": [
            "Số định danh cá nhân ghi năm sinh 1984 (chữ số thứ 4 đến 6), không khớp với năm sinh 1985 đã khai."]}}
    assert _refusal(schema, {**death, "requester": {**death["requester"], "idNumber": "087040000888",
                                                    "dateOfBirth": "1940-02-15"}}) == {"requester": {"idNumber": [
        "Số định danh cá nhân của người yêu cầu trùng với của người đã chết."]}}
    assert _refusal(schema, {**death, "death": {**death["death"], "diedAt": "2026-11-20"}})["death"] == {"diedAt": [
        "Ngày, giờ chết không hợp lệ, hãy nhập ngày và giờ theo dạng năm-tháng-ngàyTgiờ:phút (ví dụ 2026-11-20T14:30)."]}
    assert _refusal(schema, {key: value for key, value in death.items() if key != "copies"}) == {
        "copies": ["Số bản sao yêu cầu phải là một số từ 0 đến 10."]}
    assert schema.load({**death, "copies": 0})["copies"] == 0


def test_the_residence_schema_for_a_deletion_needs_the_persons_id_number():
    residence = extract_death()["residence"]
    schema = ResidenceDeclarationSchema()
    member = residence["members"][0]
    assert _refusal(schema, {**residence, "members": [{**member, "idNumber": None}]}) == {"members": {0: {"idNumber": [
        "Vui lòng nhập số định danh cá nhân của người bị xóa đăng ký thường trú."]}}}
    assert _refusal(schema, {**residence, "members": [{**member, "dateOfBirth": "1941-02-15"}]}) == {"members": {0: {
        "idNumber": ["Số định danh cá nhân ghi năm sinh 1940 (chữ số thứ 4 đến 6), không khớp với năm sinh 1941 đã khai."]}}}
    assert _refusal(schema, {**residence, "declarant": {**residence["declarant"], "dateOfBirth": "1985-01-15"}}) == {
        "declarant": {"idNumber": [
            "Số định danh cá nhân ghi năm sinh 1984 (chữ số thứ 4 đến 6), không khớp với năm sinh 1985 đã khai."]}}


def test_the_funeral_support_schema():
    funeral = extract_death()["funeral"]
    schema = FuneralSupportSchema()
    assert _refusal(schema, {**funeral, "deceased": {**funeral["deceased"], "fullName": "Nguyễn Văn Tám"}}) == {
        "deceased": {"fullName": ["Họ và tên người chết phải viết chữ in hoa: NGUYỄN VĂN TÁM."]}}
    assert _refusal(schema, {**funeral, "burial": {**funeral["burial"], "date": "2026-11-19"}}) == {
        "burial": {"date": ["Thời gian mai táng không được trước ngày chết."]}}
    assert _refusal(schema, {**funeral, "declaredOn": "2026-11-21"}) == {
        "burial": {"date": ["Thời gian mai táng không được sau ngày làm tờ khai."]}}
    assert _refusal(schema, {**funeral, "deceased": {**funeral["deceased"], "diedOn": "1940-02-14"},
                             "burial": {**funeral["burial"], "date": "1940-02-16"}}) == {
        "deceased": {"diedOn": ["Ngày chết không được trước ngày sinh."]}}
    assert _refusal(schema, {**funeral, "burial": {"date": "2026-11-22"}}) == {
        "burial": {"place": ["Vui lòng nhập địa điểm mai táng."]}}
    assert _refusal(schema, {**funeral, "organiser": {**funeral["organiser"], "idNumber": "087284000999"}}) == {
        "organiser": {"idNumber": [
            "Số định danh cá nhân ghi năm sinh 2084 (chữ số thứ 4 đến 6), không khớp với năm sinh 1984 đã khai."]}}
    assert _refusal(schema, {**funeral, "organiser": {**funeral["organiser"], "kind": "person"}}) == {
        "organiser": {"kind": ["Tờ khai không có mục này."]}}


# --- twins ----------------------------------------------------------------------------------------

def test_twins_get_a_birth_and_bhyt_declaration_each_and_one_ct01_listing_both():
    from tests.birth_examples import twins_declaration

    extracted = extract_declarations(twins_declaration(), received_on=RECEIVED, household=HOUSEHOLD)
    assert list(extracted) == ["birth", "birth-2", "residence", "bhyt", "bhyt-2"]
    assert [extracted[k]["child"]["fullName"] for k in ("birth", "birth-2")] == ["Nguyễn Minh Khang", "Nguyễn Ngọc Hân"]
    assert extracted["birth-2"]["child"]["sex"] == "female" and extracted["birth-2"]["mother"] == extracted["birth"]["mother"]
    assert [(extracted[k]["fullName"], extracted[k]["sex"]) for k in ("bhyt", "bhyt-2")] == [
        ("Nguyễn Minh Khang", "male"), ("Nguyễn Ngọc Hân", "female")]
    members = extracted["residence"]["members"]
    assert [(m["fullName"], m["sex"], m["idNumber"], m["relationship"]) for m in members] == [
        ("Nguyễn Minh Khang", "male", None, "Con"), ("Nguyễn Ngọc Hân", "female", None, "Con")]
    # Without BHYT, no BHYT declaration for either child.
    assert list(extract_declarations(twins_declaration(parts=["birth", "residence"]), received_on=RECEIVED,
                                     household=HOUSEHOLD)) == ["birth", "birth-2", "residence"]
