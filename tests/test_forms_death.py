"""forms/death.py: the citizen's one death declaration, schema "death-declaration"."""
from __future__ import annotations

import copy
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from marshmallow import ValidationError

import forms  # noqa: F401  (registers the schemas)
from engine import form_registry as engine_forms
from engine.errors import InvalidRequest
from forms.death import DeathDeclarationSchema
from forms.common import today_in as today_in_vietnam
from tests.death_examples import DELETE
from tests.death_examples import death_declaration as declaration

TODAY = date(2026, 11, 25)
COMMITMENT = "Bạn phải cam kết thông tin khai là đúng sự thật."
PARTS_MESSAGE = ("Chỉ được chọn một trong các nhóm thủ tục: khai tử + xóa đăng ký thường trú; "
                 "khai tử + xóa đăng ký thường trú + mai táng phí; "
                 "hoặc khai tử + xóa đăng ký thường trú + mai táng phí + trợ cấp tuất.")
PHONE_REQUIRED = "Vui lòng nhập số điện thoại di động của người đi đăng ký."
PHONE_INVALID = ("Số điện thoại di động của người đi đăng ký không hợp lệ: hãy nhập số di động Việt Nam "
                 "gồm 10 chữ số, ví dụ 0912345678 hoặc +84912345678.")
DIED_AT_INVALID = ("Ngày, giờ chết không hợp lệ, hãy nhập ngày và giờ theo dạng năm-tháng-ngàyTgiờ:phút "
                   "(ví dụ 2026-11-20T14:30).")
BURIAL_DATE_NEEDED = "Vui lòng nhập ngày mai táng (cần cho tờ khai đề nghị hỗ trợ chi phí mai táng)."
BURIAL_PLACE_NEEDED = "Vui lòng nhập nơi mai táng (cần cho tờ khai đề nghị hỗ trợ chi phí mai táng)."


def load(data, today=TODAY):
    return DeathDeclarationSchema(today=today).load(data)


def errors_of(data, today=TODAY) -> dict:
    with pytest.raises(ValidationError) as refused:
        load(data, today)
    return refused.value.messages


def test_a_complete_declaration_loads_cleanly():
    data = declaration()
    assert load(data) == data  # nothing renamed; dates stay ISO strings (JSON-ready process variables)


def test_optional_parts_take_their_defaults():
    loaded = load(declaration(burial=DELETE, copies=DELETE, parts=["death", "residence"]))
    assert "burial" not in loaded and loaded["copies"] == 1
    assert load(declaration(burial=None, parts=["death", "residence"]))["burial"] is None


def test_text_is_trimmed_and_id_numbers_normalised():
    loaded = load(declaration(deceased__fullName="  Nguyễn Văn Tám ", deceased__idNumber="087 040 000 888",
                              requester__idNumber=" 087084 000999"))
    assert loaded["deceased"]["fullName"] == "Nguyễn Văn Tám"
    assert loaded["deceased"]["idNumber"] == "087040000888" and loaded["requester"]["idNumber"] == "087084000999"


# The requester's phone and e-mail are the birth declaration's fields (forms/common.py): one
# sample of each here; tests/test_forms_birth.py covers the normalisation in full.
@pytest.mark.parametrize("written", ["+84 912 345 678", "0912.345.678", "(+84) 912 345 678"])
def test_the_phone_is_normalised_like_the_birth_requesters(written):
    assert load(declaration(requester__phone=written))["requester"]["phone"] == "0912345678"


def test_the_email_is_optional():
    assert "email" not in load(declaration())["requester"]
    assert load(declaration(requester__email=" an@example.vn "))["requester"]["email"] == "an@example.vn"
    assert load(declaration(requester__email=""))["requester"]["email"] is None


# --- the time of death ----------------------------------------------------------------------------

@pytest.mark.parametrize("written, loaded", [
    ("2026-11-20T05:30", "2026-11-20T05:30"),
    ("2026-11-20 05:30", "2026-11-20T05:30"),
    ("2026-11-20T05:30:59", "2026-11-20T05:30"),  # to the minute, as the forms record it
    ("2026-11-20T05:30:00.250", "2026-11-20T05:30"),
    (" 2026-11-20T05:30 ", "2026-11-20T05:30"),
    ("2026-11-20T05:30+07:00", "2026-11-20T05:30"),
    ("2026-11-19T22:30Z", "2026-11-20T05:30"),  # UTC: the next day in Vietnam
    ("2026-11-19T22:30:00+00:00", "2026-11-20T05:30"),
    ("2026-11-20T00:30+02:00", "2026-11-20T05:30"),
])
def test_the_time_of_death_loads_as_vietnam_time_to_the_minute(written, loaded):
    assert load(declaration(death__diedAt=written))["death"]["diedAt"] == loaded


@pytest.mark.parametrize("written", [
    "2026-11-20", "20/11/2026 05:30", "2026-11-20T5:30", "2026-11-20T25:00", "2026-02-30T05:30", "20261120T0530",
    "2026-11-20T05:30+7", "hôm qua", 20261120, True,
])
def test_a_time_of_death_that_is_not_an_iso_date_time_is_refused(written):
    assert errors_of(declaration(death__diedAt=written)) == {"death": {"diedAt": [DIED_AT_INVALID]}}


def test_a_death_today_later_than_now_is_not_caught_by_the_day():
    # The schema knows the day of receipt, not the hour: a death "today" is accepted at any time of day.
    assert load(declaration(death__diedAt="2026-11-25T23:59", death__noticeIssuedOn="2026-11-25",
                            burial__date="2026-11-25"))["death"]["diedAt"] == "2026-11-25T23:59"


# --- parts and burial -----------------------------------------------------------------------------

@pytest.mark.parametrize("parts, loaded", [
    (["death", "residence"], ["death", "residence"]),
    (["residence", "death"], ["death", "residence"]),
    (["death", "residence", "funeral"], ["death", "residence", "funeral"]),
    (["funeral", "death", "residence"], ["death", "residence", "funeral"]),
    (["death", "residence", "funeral", "survivor"], ["death", "residence", "funeral", "survivor"]),
    (["survivor", "funeral", "residence", "death"], ["death", "residence", "funeral", "survivor"]),
])
def test_the_three_allowed_choices_of_parts_in_any_order(parts, loaded):
    assert load(declaration(parts=parts))["parts"] == loaded


@pytest.mark.parametrize("parts", [
    ["death"], ["residence"], ["death", "funeral"], ["death", "survivor"], ["death", "residence", "survivor"],
    ["death", "residence", "residence"], ["death", "residence", "funeral", "funeral"], [],
    ["death", "residence", "bhyt"], ["birth", "residence"],
])
def test_other_choices_of_parts_are_refused(parts):
    assert errors_of(declaration(parts=parts)) == {"parts": [PARTS_MESSAGE]}


@pytest.mark.parametrize("burial", [DELETE, None, {}, {"date": None, "place": None}, {"date": "", "place": "  "}])
def test_funeral_support_needs_the_burial_date_and_place(burial):
    assert errors_of(declaration(burial=burial)) == {"burial": {"date": [BURIAL_DATE_NEEDED],
                                                                "place": [BURIAL_PLACE_NEEDED]}}
    # Without funeral support the burial is not needed: none, or whatever part of it is known.
    assert load(declaration(burial=burial, parts=["death", "residence"]))["parts"] == ["death", "residence"]


def test_funeral_support_names_the_one_burial_field_missing():
    assert errors_of(declaration(burial__place=DELETE)) == {"burial": {"place": [BURIAL_PLACE_NEEDED]}}
    assert errors_of(declaration(burial__date=None)) == {"burial": {"date": [BURIAL_DATE_NEEDED]}}
    assert errors_of(declaration(burial__date=DELETE, parts=["death", "residence", "funeral", "survivor"])) == {
        "burial": {"date": [BURIAL_DATE_NEEDED]}}


def test_a_malformed_burial_date_gets_one_message_not_two():
    assert errors_of(declaration(burial__date="22/11/2026")) == {"burial": {"date": [
        "Ngày mai táng không hợp lệ, hãy nhập theo dạng năm-tháng-ngày (ví dụ 2024-05-31)."]}}
    assert errors_of(declaration(burial="22/11/2026")) == {"burial": [
        "Phần thông tin mai táng gửi lên không đúng dạng."]}


def test_no_time_limit_for_declaring_a_death():
    long_ago = declaration(death__diedAt="1990-03-01T10:00", death__noticeIssuedOn="1990-03-02",
                           burial__date="1990-03-03")
    assert load(long_ago)["death"]["diedAt"] == "1990-03-01T10:00"


# --- each rule failing alone: (changes to the valid declaration, the field path, the message) ---------

RULES = [
    ({"receivingAgency": DELETE}, ("receivingAgency",), "Vui lòng nhập cơ quan tiếp nhận hồ sơ."),
    ({"requester": DELETE}, ("requester",), "Vui lòng khai thông tin người đi đăng ký."),
    ({"requester": ["An"]}, ("requester",), "Phần thông tin người đi đăng ký gửi lên không đúng dạng."),
    ({"requester__fullName": " "}, ("requester", "fullName"), "Vui lòng nhập họ, chữ đệm và tên người đi đăng ký."),
    ({"requester__idNumber": "0870840009"}, ("requester", "idNumber"), "Số định danh cá nhân phải gồm đúng 12 chữ số."),
    ({"requester__idNumber": "087085000999"}, ("requester", "idNumber"),
     "Số định danh cá nhân ghi năm sinh 1985 (chữ số thứ 4 đến 6), không khớp với năm sinh 1984 đã khai."),
    ({"requester__dateOfBirth": DELETE}, ("requester", "dateOfBirth"),
     "Vui lòng nhập ngày, tháng, năm sinh của người đi đăng ký."),
    ({"requester__dateOfBirth": "15/01/1984"}, ("requester", "dateOfBirth"),
     "Ngày, tháng, năm sinh của người đi đăng ký không hợp lệ, hãy nhập theo dạng năm-tháng-ngày (ví dụ 2024-05-31)."),
    ({"requester__residence": ""}, ("requester", "residence"), "Vui lòng nhập nơi cư trú."),
    ({"requester__relationship": None}, ("requester", "relationship"), "Vui lòng nhập quan hệ với người đã chết."),
    ({"requester__phone": DELETE}, ("requester", "phone"), PHONE_REQUIRED),
    ({"requester__phone": "0212345678"}, ("requester", "phone"), PHONE_INVALID),
    ({"requester__email": "an@"}, ("requester", "email"),
     "Địa chỉ email của người đi đăng ký không hợp lệ, ví dụ nguyenvanan@gmail.com."),
    ({"requester__nickname": "An"}, ("requester", "nickname"), "Tờ khai không có mục này."),
    ({"deceased": DELETE}, ("deceased",), "Vui lòng khai thông tin người đã chết."),
    ({"deceased__fullName": 8}, ("deceased", "fullName"), "Họ, chữ đệm và tên người đã chết phải là chữ."),
    ({"deceased__dateOfBirth": DELETE}, ("deceased", "dateOfBirth"), "Vui lòng nhập ngày, tháng, năm sinh của người đã chết."),
    ({"deceased__dateOfBirth": "2026-11-26", "deceased__idNumber": "087226000888"}, ("deceased", "dateOfBirth"),
     "Ngày sinh của người đã chết không được sau ngày hôm nay."),  # and no "died before birth" besides
    ({"requester__dateOfBirth": "2026-11-26", "requester__idNumber": "087226000999"}, ("requester", "dateOfBirth"),
     "Ngày sinh của người đi đăng ký không được sau ngày hôm nay."),
    ({"deceased__sex": "nam"}, ("deceased", "sex"), "Giới tính của người đã chết phải là nam (male) hoặc nữ (female)."),
    ({"deceased__sex": DELETE}, ("deceased", "sex"), "Vui lòng chọn giới tính của người đã chết."),
    ({"deceased__ethnicity": ""}, ("deceased", "ethnicity"), "Vui lòng nhập dân tộc."),
    ({"deceased__nationality": ""}, ("deceased", "nationality"), "Vui lòng nhập quốc tịch."),
    ({"deceased__lastResidence": DELETE}, ("deceased", "lastResidence"),
     "Vui lòng nhập nơi cư trú cuối cùng của người đã chết."),
    ({"deceased__idNumber": DELETE}, ("deceased", "idNumber"), "Vui lòng nhập số định danh cá nhân."),
    ({"deceased__idNumber": "003040000888"}, ("deceased", "idNumber"),
     "Số định danh cá nhân không hợp lệ: mã tỉnh 003 (3 chữ số đầu) không tồn tại."),
    ({"deceased__sex": "female"}, ("deceased", "idNumber"),
     "Số định danh cá nhân là của người nam (chữ số thứ 4), không khớp với giới tính nữ đã khai."),
    ({"deceased__dateOfBirth": "1941-02-15"}, ("deceased", "idNumber"),
     "Số định danh cá nhân ghi năm sinh 1940 (chữ số thứ 4 đến 6), không khớp với năm sinh 1941 đã khai."),
    ({"deceased__idNumber": "087240000888"}, ("deceased", "idNumber"),  # right sex, wrong century: 2040
     "Số định danh cá nhân ghi năm sinh 2040 (chữ số thứ 4 đến 6), không khớp với năm sinh 1940 đã khai."),
    ({"death": DELETE}, ("death",), "Vui lòng khai thông tin về việc chết."),
    ({"death__diedAt": DELETE}, ("death", "diedAt"), "Vui lòng nhập ngày, giờ chết."),
    ({"death__diedAt": "  "}, ("death", "diedAt"), "Vui lòng nhập ngày, giờ chết."),
    ({"death__diedAt": "20/11/2026 05:30"}, ("death", "diedAt"), DIED_AT_INVALID),
    ({"death__diedAt": "2026-11-26T05:30", "death__noticeIssuedOn": "2026-11-25", "burial__date": "2026-11-25"},
     ("death", "diedAt"), "Ngày chết không được sau ngày hôm nay."),
    ({"death__diedAt": "2026-11-25T17:30Z", "death__noticeIssuedOn": "2026-11-25", "burial__date": "2026-11-25"},
     ("death", "diedAt"), "Ngày chết không được sau ngày hôm nay."),  # 00:30 on the 26th in Vietnam
    ({"deceased__dateOfBirth": "1940-12-01", "death__diedAt": "1940-11-30T10:00", "death__noticeIssuedOn": "1940-11-30",
      "burial__date": "1940-12-02"}, ("death", "diedAt"), "Ngày chết không được trước ngày sinh của người đã chết."),
    ({"death__place": ""}, ("death", "place"), "Vui lòng nhập nơi chết."),
    ({"death__cause": DELETE}, ("death", "cause"), "Vui lòng nhập nguyên nhân chết."),
    ({"death__noticeNumber": ""}, ("death", "noticeNumber"), "Vui lòng nhập số giấy báo tử."),
    ({"death__noticeIssuedBy": DELETE}, ("death", "noticeIssuedBy"), "Vui lòng nhập nơi cấp giấy báo tử."),
    ({"death__noticeIssuedOn": DELETE}, ("death", "noticeIssuedOn"), "Vui lòng nhập ngày cấp giấy báo tử."),
    ({"death__noticeIssuedOn": "2026-11-19"}, ("death", "noticeIssuedOn"), "Ngày cấp giấy báo tử không được trước ngày chết."),
    ({"death__noticeIssuedOn": "2026-11-26"}, ("death", "noticeIssuedOn"), "Ngày cấp giấy báo tử không được sau ngày hôm nay."),
    ({"death__nickname": "x"}, ("death", "nickname"), "Tờ khai không có mục này."),
    ({"burial__date": "2026-11-19"}, ("burial", "date"), "Ngày mai táng không được trước ngày chết."),
    ({"burial__date": "2026-11-26"}, ("burial", "date"), "Ngày mai táng không được sau ngày hôm nay."),
    ({"burial__place": 3}, ("burial", "place"), "Nơi mai táng phải là chữ."),
    ({"burial__cost": 5000000}, ("burial", "cost"), "Tờ khai không có mục này."),
    ({"parts": DELETE}, ("parts",), "Vui lòng chọn các thủ tục cần thực hiện."),
    ({"parts": "death,residence"}, ("parts",), "Vui lòng chọn các thủ tục cần thực hiện."),
    ({"delivery": "email"}, ("delivery",),
     "Hình thức nhận kết quả phải là nhận tại bộ phận một cửa (desk), qua bưu chính (post) hoặc bản điện tử (electronic)."),
    ({"delivery": DELETE}, ("delivery",), "Vui lòng chọn hình thức nhận kết quả."),
    ({"copies": 0}, ("copies",), "Số bản sao yêu cầu phải từ 1 đến 10."),
    ({"copies": "2"}, ("copies",), "Số bản sao yêu cầu phải là một số từ 1 đến 10."),
    ({"commitment": False}, ("commitment",), COMMITMENT),
    ({"commitment": DELETE}, ("commitment",), COMMITMENT),
    ({"child": {}}, ("child",), "Tờ khai không có mục này."),
]


@pytest.mark.parametrize("changes, path, message", RULES, ids=lambda x: None)
def test_each_rule_names_its_field_in_vietnamese(changes, path, message):
    errors = errors_of(declaration(**changes))
    node = errors
    for key in path:
        assert list(node) == [key], f"expected only {path}, got {errors}"
        node = node[key]
    assert node == [message]


def test_the_requester_cannot_be_the_deceased():
    # Tám declaring his own death: his ID number in both places (with his own date of birth).
    errors = errors_of(declaration(requester__idNumber="087040000888", requester__dateOfBirth="1940-02-15"))
    assert errors == {"requester": {"idNumber": [
        "Số định danh cá nhân của người đi đăng ký trùng với của người đã chết."]}}


def test_every_problem_is_reported_in_one_answer():
    data = declaration(deceased__sex="female", death__diedAt="2026-11-20", death__noticeIssuedOn="2026-11-26",
                       burial__date="2026-11-26", burial__place=DELETE, requester__phone="12", parts=["death"],
                       commitment=False, delivery="fax")
    errors = errors_of(data)
    assert set(errors) == {"requester", "deceased", "death", "burial", "parts", "commitment", "delivery"}
    assert errors["requester"] == {"phone": [PHONE_INVALID]}
    assert list(errors["deceased"]) == ["idNumber"]
    assert errors["death"] == {"diedAt": [DIED_AT_INVALID],
                               "noticeIssuedOn": ["Ngày cấp giấy báo tử không được sau ngày hôm nay."]}
    # The parts failed: whether funeral support is asked is unknown, so the missing place is not held against it.
    assert errors["burial"] == {"date": ["Ngày mai táng không được sau ngày hôm nay."]}


def test_two_date_problems_on_one_field_are_both_reported():
    errors = errors_of(declaration(burial__date="2026-11-19", burial__place=DELETE))
    assert errors == {"burial": {"date": ["Ngày mai táng không được trước ngày chết."],
                                 "place": [BURIAL_PLACE_NEEDED]}}


def test_the_input_is_not_modified():
    data = declaration(parts=["survivor", "death", "funeral", "residence"], death__diedAt="2026-11-19T22:30Z")
    before = copy.deepcopy(data)
    load(data)
    assert data == before


def test_today_defaults_to_vietnam_date():
    assert DeathDeclarationSchema().today == today_in_vietnam()
    tomorrow = (today_in_vietnam() + timedelta(days=1)).isoformat()
    assert "death" in errors_of(declaration(death__diedAt=f"{tomorrow}T08:00"), today=None)


def test_the_engine_finds_the_schema_and_flattens_field_paths():
    assert engine_forms.registry.get("death-declaration") is DeathDeclarationSchema
    form = SimpleNamespace(key="schema:death-declaration", fields=[])
    assert engine_forms.validate(form, declaration(), engine_forms.registry)["parts"] == [
        "death", "residence", "funeral", "survivor"]
    with pytest.raises(InvalidRequest) as refused:
        engine_forms.validate(form, declaration(burial__place=""), engine_forms.registry)
    assert refused.value.field_errors == {"burial.place": [BURIAL_PLACE_NEEDED]}


def test_the_example_file_is_the_example_declaration():
    import json
    from pathlib import Path

    example = json.loads((Path(__file__).parent.parent / "examples" / "death_declaration.json").read_text("utf-8"))
    assert example == declaration(delivery="electronic")
    assert load(example)["parts"] == ["death", "residence", "funeral", "survivor"]
