"""forms/identity.py: the 12-digit personal ID number (số định danh cá nhân)."""
from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError

from forms.personal_id import (
    PROVINCES,
    PersonalId,
    PersonalIdField,
    check_personal_id,
    parse_personal_id,
)

NOT_12_DIGITS = "Số định danh cá nhân phải gồm đúng 12 chữ số."


def test_the_63_provinces_of_the_domain_list_are_all_present():
    assert len(PROVINCES) == 63
    assert all(len(code) == 3 and code.isdigit() for code in PROVINCES)
    assert PROVINCES["001"] == "Hà Nội"
    assert PROVINCES["077"] == "Bà Rịa–Vũng Tàu"
    assert PROVINCES["079"] == "TP Hồ Chí Minh"
    assert PROVINCES["096"] == "Cà Mau"
    # codes the list skips are not provinces
    assert not {"003", "005", "097", "000"} & set(PROVINCES)


@pytest.mark.parametrize("code", sorted(PROVINCES))
def test_every_province_code_parses(code):
    assert parse_personal_id(f"{code}224012345").province_name == PROVINCES[code]


def test_the_domain_example_is_a_man_from_dong_thap_born_1984():
    assert parse_personal_id("087084000999") == PersonalId("087", "Đồng Tháp", "male", 1900, 84)
    assert parse_personal_id("087084000999").birth_year == 1984


@pytest.mark.parametrize("digit, sex, century", [
    ("0", "male", 1900), ("1", "female", 1900), ("2", "male", 2000), ("3", "female", 2000),
    ("4", "male", 2100), ("5", "female", 2100), ("6", "male", 2200), ("7", "female", 2200),
    ("8", "male", 2300), ("9", "female", 2300),
])
def test_the_fourth_digit_gives_century_and_sex(digit, sex, century):
    decoded = parse_personal_id(f"001{digit}05123456")
    assert (decoded.sex, decoded.birth_year_century, decoded.birth_year) == (sex, century, century + 5)


def test_whitespace_is_ignored():
    assert parse_personal_id(" 087 084\t000 999\n").province_code == "087"


@pytest.mark.parametrize("text, message", [
    ("08708400099", NOT_12_DIGITS),             # 11 digits
    ("0870840009990", NOT_12_DIGITS),           # 13 digits
    ("08708400099A", NOT_12_DIGITS),
    ("087-084-000-999", NOT_12_DIGITS),
    ("０８７０８４０００９９９", NOT_12_DIGITS),  # full-width digits are not accepted
    ("", NOT_12_DIGITS),
    (87084000999, NOT_12_DIGITS),               # an int has lost its leading zero
    ("003084000999", "Số định danh cá nhân không hợp lệ: mã tỉnh 003 (3 chữ số đầu) không tồn tại."),
    ("099084000999", "Số định danh cá nhân không hợp lệ: mã tỉnh 099 (3 chữ số đầu) không tồn tại."),
])
def test_malformed_numbers_are_refused_in_vietnamese(text, message):
    with pytest.raises(ValueError) as refused:
        parse_personal_id(text)
    assert str(refused.value) == message
    assert check_personal_id(text) == [message]  # the checker reports it instead of raising


@pytest.mark.parametrize("sex, birth_year, problems", [
    ("male", 1984, []),
    (None, None, []),
    ("female", None, ["Số định danh cá nhân là của người nam (chữ số thứ 4), không khớp với giới tính nữ đã khai."]),
    (None, 2084, ["Số định danh cá nhân ghi năm sinh 1984 (chữ số thứ 4 đến 6), không khớp với năm sinh 2084 đã khai."]),
    ("female", 1985, [
        "Số định danh cá nhân là của người nam (chữ số thứ 4), không khớp với giới tính nữ đã khai.",
        "Số định danh cá nhân ghi năm sinh 1984 (chữ số thứ 4 đến 6), không khớp với năm sinh 1985 đã khai.",
    ]),
])
def test_check_compares_the_number_with_the_declared_sex_and_year(sex, birth_year, problems):
    assert check_personal_id("087084000999", sex=sex, birth_year=birth_year) == problems


def test_a_woman_born_in_2001():
    assert check_personal_id("001301000001", sex="female", birth_year=2001) == []
    assert check_personal_id("001301000001", sex="male", birth_year=2001) == [
        "Số định danh cá nhân là của người nữ (chữ số thứ 4), không khớp với giới tính nam đã khai."]


class _Holder(Schema):
    number = PersonalIdField(required=True)


@pytest.mark.parametrize("value, loaded", [
    ("087084000999", "087084000999"),
    ("  087 084 000 999 ", "087084000999"),
])
def test_the_field_loads_the_normalised_number(value, loaded):
    assert _Holder().load({"number": value}) == {"number": loaded}


@pytest.mark.parametrize("data, message", [
    ({}, "Vui lòng nhập số định danh cá nhân."),
    ({"number": None}, "Vui lòng nhập số định danh cá nhân."),
    ({"number": 87084000999}, "Số định danh cá nhân phải là một dãy 12 chữ số."),
    ({"number": "0870840009"}, NOT_12_DIGITS),
    ({"number": "000084000999"}, "Số định danh cá nhân không hợp lệ: mã tỉnh 000 (3 chữ số đầu) không tồn tại."),
])
def test_the_field_refuses_in_vietnamese(data, message):
    with pytest.raises(ValidationError) as refused:
        _Holder().load(data)
    assert refused.value.messages == {"number": [message]}
