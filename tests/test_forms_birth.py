"""forms/birth.py: the citizen's one birth declaration, schema "birth-declaration"."""
from __future__ import annotations

import copy
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from marshmallow import ValidationError

import forms  # noqa: F401  (registers the schemas)
from engine import form_registry as engine_forms
from engine.errors import InvalidRequest
from forms.birth import BirthDeclarationSchema, add_months
from forms.common import today_in as today_in_vietnam
from tests.birth_examples import DELETE
from tests.birth_examples import birth_declaration as declaration

TODAY = date(2024, 6, 15)
COMMITMENT = "Bạn phải cam kết thông tin khai là đúng sự thật."
PARTS_MESSAGE = ("Chỉ được chọn một trong các nhóm thủ tục: khai sinh + thường trú + thẻ BHYT; "
                 "khai sinh + thẻ BHYT; hoặc khai sinh + thường trú.")
PHONE_REQUIRED = "Vui lòng nhập số điện thoại di động của người đi đăng ký."
PHONE_INVALID = ("Số điện thoại di động của người đi đăng ký không hợp lệ: hãy nhập số di động Việt Nam "
                 "gồm 10 chữ số, ví dụ 0912345678 hoặc +84912345678.")
EMAIL_INVALID = "Địa chỉ email của người đi đăng ký không hợp lệ, ví dụ nguyenvanan@gmail.com."


def load(data, today=TODAY):
    return BirthDeclarationSchema(today=today).load(data)


def errors_of(data, today=TODAY) -> dict:
    with pytest.raises(ValidationError) as refused:
        load(data, today)
    return refused.value.messages


def test_a_complete_declaration_loads_cleanly():
    data = declaration()
    assert load(data) == data  # nothing renamed; dates stay ISO strings (JSON-ready process variables)


def test_optional_parts_take_their_defaults():
    loaded = load(declaration(father=DELETE, marriage=DELETE, copies=DELETE))
    assert (loaded["father"], loaded["marriage"], loaded["copies"]) == (None, None, 1)
    assert load(declaration(father=None, marriage=None))["father"] is None


def test_text_is_trimmed_and_the_id_number_normalised():
    loaded = load(declaration(child__fullName="  Nguyễn Minh Khang ", mother__idNumber="087 190 001 234"))
    assert loaded["child"]["fullName"] == "Nguyễn Minh Khang"
    assert loaded["mother"]["idNumber"] == "087190001234"


@pytest.mark.parametrize("written", [
    "0912345678", "+84912345678", "84912345678", "0084912345678", "+84 912 345 678", "0912.345.678",
    "0912-345-678", " 091 234 5678 ", "(+84) 912 345 678", "+84 0912 345 678",
])
def test_the_phone_is_normalised_to_ten_digits(written):
    assert load(declaration(requester__phone=written))["requester"]["phone"] == "0912345678"


@pytest.mark.parametrize("number", ["0321234567", "0561234567", "0701234567", "0861234567", "0981234567"])
def test_every_mobile_network_prefix_is_accepted(number):
    assert load(declaration(requester__phone=number))["requester"]["phone"] == number


def test_the_email_is_optional_trimmed_and_blank_means_none():
    assert "email" not in load(declaration())["requester"]  # absent stays absent
    assert load(declaration(requester__email=" an.nguyen@gmail.com "))["requester"]["email"] == "an.nguyen@gmail.com"
    assert load(declaration(requester__email=""))["requester"]["email"] is None
    assert load(declaration(requester__email=None))["requester"]["email"] is None


def test_the_clinic_is_optional_and_trimmed():
    assert "clinic" not in load(declaration())  # forms/extraction.py writes the default
    assert load(declaration(clinic="  Trạm y tế xã Mỹ An "))["clinic"] == "Trạm y tế xã Mỹ An"
    assert load(declaration(clinic="   "))["clinic"] is None


@pytest.mark.parametrize("parts, loaded", [
    (["birth", "residence", "bhyt"], ["birth", "residence", "bhyt"]),
    (["bhyt", "birth", "residence"], ["birth", "residence", "bhyt"]),
    (["birth", "bhyt"], ["birth", "bhyt"]),
    (["bhyt", "birth"], ["birth", "bhyt"]),
    (["birth", "residence"], ["birth", "residence"]),
    (["residence", "birth"], ["birth", "residence"]),
])
def test_the_three_allowed_choices_of_parts_in_any_order(parts, loaded):
    assert load(declaration(parts=parts))["parts"] == loaded


@pytest.mark.parametrize("parts", [
    ["birth"], ["residence", "bhyt"], ["bhyt"], [], ["birth", "birth", "bhyt"],
    ["birth", "residence", "bhyt", "bhyt"], ["birth", "death"], ["birth", "residence", "bhyt", "death"],
])
def test_other_choices_of_parts_are_refused(parts):
    assert errors_of(declaration(parts=parts)) == {"parts": [PARTS_MESSAGE]}


# Each rule failing alone: (changes to the valid declaration, the field path, the message).
RULES = [
    ({"receivingAgency": DELETE}, ("receivingAgency",), "Vui lòng nhập cơ quan tiếp nhận hồ sơ."),
    ({"receivingAgency": "   "}, ("receivingAgency",), "Vui lòng nhập cơ quan tiếp nhận hồ sơ."),
    ({"requester": DELETE}, ("requester",), "Vui lòng khai thông tin người đi đăng ký."),
    ({"requester": "Nguyễn Văn An"}, ("requester",), "Phần thông tin người đi đăng ký gửi lên không đúng dạng."),
    ({"requester__fullName": ""}, ("requester", "fullName"), "Vui lòng nhập họ, chữ đệm và tên người đi đăng ký."),
    ({"requester__idNumber": "12345"}, ("requester", "idNumber"), "Số định danh cá nhân phải gồm đúng 12 chữ số."),
    ({"requester__relationship": None}, ("requester", "relationship"), "Vui lòng nhập quan hệ với người được khai sinh."),
    ({"requester__nickname": "An"}, ("requester", "nickname"), "Tờ khai không có mục này."),
    ({"requester__phone": DELETE}, ("requester", "phone"), PHONE_REQUIRED),
    ({"requester__phone": None}, ("requester", "phone"), PHONE_REQUIRED),
    ({"requester__phone": "  "}, ("requester", "phone"), PHONE_REQUIRED),
    ({"requester__phone": "091234567"}, ("requester", "phone"), PHONE_INVALID),  # 9 digits
    ({"requester__phone": "09123456789"}, ("requester", "phone"), PHONE_INVALID),  # 11 digits
    ({"requester__phone": "0212345678"}, ("requester", "phone"), PHONE_INVALID),  # 02x: a landline
    ({"requester__phone": "0912a45678"}, ("requester", "phone"), PHONE_INVALID),
    ({"requester__phone": "+85512345678"}, ("requester", "phone"), PHONE_INVALID),  # Cambodia
    ({"requester__phone": 912345678}, ("requester", "phone"), PHONE_INVALID),  # a number lost its 0
    ({"requester__email": "an@"}, ("requester", "email"), EMAIL_INVALID),
    ({"requester__email": "nguyen van an@gmail.com"}, ("requester", "email"), EMAIL_INVALID),
    ({"requester__email": 42}, ("requester", "email"), EMAIL_INVALID),
    ({"child": DELETE}, ("child",), "Vui lòng khai thông tin của trẻ."),
    ({"child__fullName": 42}, ("child", "fullName"), "Họ, chữ đệm và tên của trẻ phải là chữ."),
    ({"child__dateOfBirth": DELETE}, ("child", "dateOfBirth"), "Vui lòng nhập ngày, tháng, năm sinh của trẻ."),
    ({"child__dateOfBirth": "20/05/2024"}, ("child", "dateOfBirth"),
     "Ngày, tháng, năm sinh của trẻ không hợp lệ, hãy nhập theo dạng năm-tháng-ngày (ví dụ 2024-05-31)."),
    ({"child__dateOfBirth": "2024-06-16"}, ("child", "dateOfBirth"), "Ngày sinh của trẻ không được sau ngày hôm nay."),
    ({"child__dateOfBirth": "2018-06-15"}, ("child", "dateOfBirth"),
     "Thủ tục liên thông này chỉ dành cho trẻ dưới 6 tuổi (dưới 72 tháng tuổi)."),
    ({"child__sex": "nam"}, ("child", "sex"), "Giới tính của trẻ phải là nam (male) hoặc nữ (female)."),
    ({"child__sex": DELETE}, ("child", "sex"), "Vui lòng chọn giới tính của trẻ."),
    ({"child__ethnicity": ""}, ("child", "ethnicity"), "Vui lòng nhập dân tộc."),
    ({"child__nationality": ""}, ("child", "nationality"), "Vui lòng nhập quốc tịch."),
    ({"child__placeOfBirth": ""}, ("child", "placeOfBirth"), "Vui lòng nhập nơi sinh."),
    ({"child__homeTown": ""}, ("child", "homeTown"), "Vui lòng nhập quê quán."),
    ({"mother": DELETE}, ("mother",), "Vui lòng khai thông tin của mẹ."),
    ({"mother": None}, ("mother",), "Vui lòng khai thông tin của mẹ."),
    ({"mother__birthYear": "1990"}, ("mother", "birthYear"), "Năm sinh phải là một số, ví dụ 1990."),
    ({"mother__birthYear": 1890}, ("mother", "birthYear"), "Năm sinh phải từ năm 1900 trở đi."),
    ({"mother__birthYear": 2024, "mother__idNumber": "087324001234"}, ("mother", "birthYear"),
     "Năm sinh của mẹ phải trước năm sinh của trẻ."),
    ({"mother__residence": ""}, ("mother", "residence"), "Vui lòng nhập nơi cư trú."),
    ({"mother__idNumber": DELETE}, ("mother", "idNumber"), "Vui lòng nhập số định danh cá nhân."),
    ({"mother__idNumber": "087090001234"}, ("mother", "idNumber"),
     "Số định danh cá nhân là của người nam (chữ số thứ 4), không khớp với giới tính nữ đã khai."),
    ({"mother__idNumber": "087191001234"}, ("mother", "idNumber"),
     "Số định danh cá nhân ghi năm sinh 1991 (chữ số thứ 4 đến 6), không khớp với năm sinh 1990 đã khai."),
    ({"mother__idNumber": "087390001234"}, ("mother", "idNumber"),  # right sex, wrong century
     "Số định danh cá nhân ghi năm sinh 2090 (chữ số thứ 4 đến 6), không khớp với năm sinh 1990 đã khai."),
    ({"father": "không rõ"}, ("father",), "Phần thông tin của cha gửi lên không đúng dạng."),
    ({"father__fullName": DELETE}, ("father", "fullName"), "Vui lòng nhập họ, chữ đệm và tên."),
    ({"father__idNumber": "003084000999"}, ("father", "idNumber"),
     "Số định danh cá nhân không hợp lệ: mã tỉnh 003 (3 chữ số đầu) không tồn tại."),
    ({"father__idNumber": "087184000999"}, ("father", "idNumber"),
     "Số định danh cá nhân là của người nữ (chữ số thứ 4), không khớp với giới tính nam đã khai."),
    ({"father__birthYear": 1985}, ("father", "idNumber"),
     "Số định danh cá nhân ghi năm sinh 1984 (chữ số thứ 4 đến 6), không khớp với năm sinh 1985 đã khai."),
    ({"marriage__certificateNumber": ""}, ("marriage", "certificateNumber"), "Vui lòng nhập số giấy chứng nhận kết hôn."),
    ({"marriage__issuedBy": DELETE}, ("marriage", "issuedBy"), "Vui lòng nhập nơi cấp giấy chứng nhận kết hôn."),
    ({"marriage__issuedOn": "2024-06-16"}, ("marriage", "issuedOn"),
     "Ngày cấp giấy chứng nhận kết hôn không được sau ngày hôm nay."),
    ({"parts": DELETE}, ("parts",), "Vui lòng chọn các thủ tục cần thực hiện."),
    ({"parts": "birth,bhyt"}, ("parts",), "Vui lòng chọn các thủ tục cần thực hiện."),
    ({"delivery": "email"}, ("delivery",),
     "Hình thức nhận kết quả phải là nhận tại bộ phận một cửa (desk), qua bưu chính (post) hoặc bản điện tử (electronic)."),
    ({"delivery": DELETE}, ("delivery",), "Vui lòng chọn hình thức nhận kết quả."),
    ({"copies": 0}, ("copies",), "Số bản sao yêu cầu phải từ 1 đến 10."),
    ({"copies": 11}, ("copies",), "Số bản sao yêu cầu phải từ 1 đến 10."),
    ({"copies": 2.5}, ("copies",), "Số bản sao yêu cầu phải là một số từ 1 đến 10."),
    ({"copies": True}, ("copies",), "Số bản sao yêu cầu phải là một số từ 1 đến 10."),
    ({"commitment": False}, ("commitment",), COMMITMENT),
    ({"commitment": DELETE}, ("commitment",), COMMITMENT),
    ({"commitment": "maybe"}, ("commitment",), COMMITMENT),
    ({"captcha": "x"}, ("captcha",), "Tờ khai không có mục này."),
    ({"clinic": 42}, ("clinic",), "Nơi đăng ký khám chữa bệnh ban đầu phải là chữ."),
]


@pytest.mark.parametrize("changes, path, message", RULES, ids=lambda x: None)
def test_each_rule_names_its_field_in_vietnamese(changes, path, message):
    errors = errors_of(declaration(**changes))
    node = errors
    for key in path:
        assert list(node) == [key], f"expected only {path}, got {errors}"
        node = node[key]
    assert node == [message]


@pytest.mark.parametrize("born, accepted", [
    ("2024-06-15", True),    # born today
    ("2018-06-16", True),    # turns 6 tomorrow: 71 months
    ("2018-06-15", False),   # 6 today: 72 months
    ("2017-01-01", False),
])
def test_the_child_must_be_under_72_months_on_the_declaration_date(born, accepted):
    data = declaration(child__dateOfBirth=born, mother__birthYear=1990)
    if accepted:
        assert load(data)["child"]["dateOfBirth"] == born
    else:
        assert "dateOfBirth" in errors_of(data)["child"]


def test_today_is_a_constructor_argument_defaulting_to_vietnam_date():
    data = declaration(child__dateOfBirth="2024-06-15")
    assert errors_of(data, today=date(2024, 6, 14)) == {
        "child": {"dateOfBirth": ["Ngày sinh của trẻ không được sau ngày hôm nay."]}}
    assert BirthDeclarationSchema().today == today_in_vietnam()


def test_add_months_clamps_to_the_end_of_the_month():
    assert add_months(date(2020, 2, 29), 72) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)


def test_every_problem_is_reported_in_one_answer():
    data = declaration(child__fullName="", child__dateOfBirth="2030-01-01", mother__idNumber="087090001234",
                       father__birthYear=1985, copies=0, commitment=False, parts=["birth"], delivery="fax")
    errors = errors_of(data)
    assert errors["child"] == {"fullName": ["Vui lòng nhập họ, chữ đệm và tên của trẻ."],
                               "dateOfBirth": ["Ngày sinh của trẻ không được sau ngày hôm nay."]}
    assert set(errors) == {"child", "mother", "father", "copies", "commitment", "parts", "delivery"}
    assert list(errors["mother"]) == ["idNumber"] and list(errors["father"]) == ["idNumber"]


def test_the_input_is_not_modified():
    data = declaration(parts=["bhyt", "birth"])
    before = copy.deepcopy(data)
    load(data)
    assert data == before


def test_the_engine_finds_the_schema_and_flattens_field_paths():
    assert engine_forms.registry.get("birth-declaration") is BirthDeclarationSchema
    form = SimpleNamespace(key="schema:birth-declaration", fields=[])
    recent = (today_in_vietnam() - timedelta(days=30)).isoformat()
    good = declaration(child__dateOfBirth=recent)
    assert engine_forms.validate(form, good, engine_forms.registry)["parts"] == ["birth", "residence", "bhyt"]
    with pytest.raises(InvalidRequest) as refused:
        engine_forms.validate(form, declaration(child__dateOfBirth=recent, mother__idNumber="087090001234"),
                              engine_forms.registry)
    assert refused.value.field_errors == {"mother.idNumber": [
        "Số định danh cá nhân là của người nam (chữ số thứ 4), không khớp với giới tính nữ đã khai."]}


# --- twins: the children of one birth in one declaration -------------------------------------------

def twins(*changes: dict, **top) -> dict:
    from tests.birth_examples import twins_declaration

    data = twins_declaration(**top)
    for child, change in zip(data["children"], changes):
        child.update(change)
    return data


def test_twins_load_as_a_list_and_one_child_still_loads_as_before():
    from forms.birth import children_of

    loaded = load(twins())
    assert [c["fullName"] for c in children_of(loaded)] == ["Nguyễn Minh Khang", "Nguyễn Ngọc Hân"]
    assert "child" not in loaded
    single = load(declaration())
    assert "children" not in single and children_of(single) == [single["child"]]


def test_each_child_is_checked_with_its_own_path():
    errors = errors_of(twins({}, {"dateOfBirth": "2024-06-16", "fullName": ""}))
    assert errors == {"children": {1: {"fullName": ["Vui lòng nhập họ, chữ đệm và tên của trẻ."],
                                       "dateOfBirth": ["Ngày sinh của trẻ không được sau ngày hôm nay."]}}}
    assert errors_of(twins({"dateOfBirth": "2017-01-01"}, {"dateOfBirth": "2017-01-01"}), today=TODAY)["children"][0] == {
        "dateOfBirth": ["Thủ tục liên thông này chỉ dành cho trẻ dưới 6 tuổi (dưới 72 tháng tuổi)."]}


def test_two_children_of_the_same_name_are_refused():
    errors = errors_of(twins({}, {"fullName": " nguyễn minh khang "}))
    assert errors == {"children": {1: {"fullName": ["Hai trẻ trong cùng tờ khai không được trùng họ tên."]}}}


@pytest.mark.parametrize("children, message", [
    ([], "Vui lòng khai từ 1 đến 5 trẻ sinh ra trong cùng một lần sinh."),
    ("Khang", "Phần thông tin các trẻ gửi lên không đúng dạng (một danh sách)."),
])
def test_the_children_are_a_list_of_one_to_five(children, message):
    data = twins()
    data["children"] = children
    assert errors_of(data) == {"children": [message]}
    data["children"] = [dict(twins()["children"][0], fullName=f"Nguyễn Minh {name}") for name in "ABCDEF"]
    assert errors_of(data) == {"children": ["Vui lòng khai từ 1 đến 5 trẻ sinh ra trong cùng một lần sinh."]}


def test_a_child_is_declared_once_either_way():
    both = twins()
    both["child"] = both["children"][0]
    assert errors_of(both) == {
        "children": ["Vui lòng chỉ khai một trong hai: thông tin của trẻ (một trẻ) hoặc danh sách các trẻ."]}
    assert errors_of(declaration(child=DELETE)) == {"child": ["Vui lòng khai thông tin của trẻ."]}


def test_the_children_of_one_declaration_are_born_of_one_birth():
    assert load(twins({"dateOfBirth": "2024-05-20"}, {"dateOfBirth": "2024-05-21"}))  # either side of midnight
    assert errors_of(twins({}, {"dateOfBirth": "2024-05-23"})) == {"children": {1: {"dateOfBirth": [
        "Các trẻ khai chung một tờ khai phải sinh trong cùng một lần sinh (cách nhau không quá 1 ngày); "
        "trẻ sinh lần khác khai tờ khai riêng."]}}}


def test_a_child_declared_both_ways_with_a_wrong_date_gets_both_messages():
    """Found by the schemathesis run: the section's own message (a list) and a child's date error
    under it made the validator crash (500) instead of answering both."""
    both = twins({}, {"dateOfBirth": "2024-06-16"})
    both["child"] = both["children"][0]
    assert errors_of(both) == {"children": {
        "_schema": ["Vui lòng chỉ khai một trong hai: thông tin của trẻ (một trẻ) hoặc danh sách các trẻ."],
        1: {"dateOfBirth": ["Ngày sinh của trẻ không được sau ngày hôm nay."]}}}
