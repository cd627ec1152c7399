"""Issue 15: declarations that cannot be true are refused, each with a Vietnamese message on its
field. One row per rule; each row was accepted before the catalogues (forms/data/) and the
plausibility limits (forms/data/limits.json)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from marshmallow import ValidationError

from forms import catalogues
from forms.birth import BirthDeclarationSchema
from forms.death import DeathDeclarationSchema
from tests.birth_examples import birth_declaration
from tests.death_examples import death_declaration

BIRTH_DAY = date(2024, 6, 15)
DEATH_DAY = date(2026, 11, 23)

# (form, changes, the field, words its message must contain)
INVALID = [
    ("birth", {"mother__birthYear": 2018, "mother__idNumber": "087318001234"}, "mother.birthYear", "6 tuổi khi sinh con"),
    ("birth", {"mother__birthYear": 1898, "mother__idNumber": "087098001234"}, "mother.birthYear", "phải từ năm 1900"),
    ("birth", {"mother__birthYear": 1950, "mother__idNumber": "087150001234"}, "mother.birthYear", "74 tuổi khi sinh con"),
    ("birth", {"father__birthYear": 2023, "father__idNumber": "087223000999"}, "father.birthYear", "1 tuổi khi sinh con"),
    ("birth", {"marriage__issuedOn": "1980-05-01"}, "marriage.issuedOn", "mẹ đủ 18 tuổi"),
    ("birth", {"marriage__issuedOn": "2003-05-01"}, "marriage.issuedOn", "cha đủ 20 tuổi"),
    ("birth", {"child__fullName": "123"}, "child.fullName", "chỉ gồm chữ cái tiếng Việt"),
    ("birth", {"child__fullName": "Nguyễn Minh Kh@ng"}, "child.fullName", "chỉ gồm chữ cái tiếng Việt"),
    ("birth", {"child__fullName": "K"}, "child.fullName", "từ 2 đến 100 ký tự"),
    ("birth", {"child__fullName": "Nguyễn " + "A" * 100}, "child.fullName", "từ 2 đến 100 ký tự"),
    ("birth", {"mother__fullName": "Trần Thị 2"}, "mother.fullName", "chỉ gồm chữ cái tiếng Việt"),
    ("birth", {"requester__fullName": "Иван"}, "requester.fullName", "chỉ gồm chữ cái tiếng Việt"),
    ("birth", {"child__nationality": "xyz"}, "child.nationality", "danh mục quốc gia"),
    ("birth", {"mother__nationality": "Atlantis"}, "mother.nationality", "danh mục quốc gia"),
    ("birth", {"child__ethnicity": "Klingon"}, "child.ethnicity", "54 dân tộc"),
    ("birth", {"father__ethnicity": "Việt Kiều"}, "father.ethnicity", "54 dân tộc"),
    ("birth", {"requester__relationship": "không quen biết"}, "requester.relationship", "không thuộc những người"),
    ("birth", {"requester__phone": "0301234567"}, "requester.phone", "Đầu số 030 chưa được cấp"),
    ("birth", {"requester__phone": "0951234567"}, "requester.phone", "Đầu số 095 chưa được cấp"),
    ("death", {"death__diedAt": "2026-11-23T18:00"}, "death.diedAt", "Giờ chết không được sau thời điểm hiện tại"),
    ("death", {"burial__date": "2026-11-19"}, "burial.date", "Ngày mai táng không được trước ngày chết"),
    ("death", {"requester__dateOfBirth": "2020-01-15", "requester__idNumber": "087220000999"},
     "requester.dateOfBirth", "từ 16 tuổi trở lên"),
    ("death", {"requester__relationship": "không quen biết"}, "requester.relationship", "không thuộc những người"),
    ("death", {"deceased__fullName": "X Æ A-12"}, "deceased.fullName", "chỉ gồm chữ cái tiếng Việt"),
    ("death", {"deceased__nationality": "xyz"}, "deceased.nationality", "danh mục quốc gia"),
    ("death", {"deceased__ethnicity": "Klingon"}, "deceased.ethnicity", "54 dân tộc"),
    ("death", {"requester__phone": "0741234567"}, "requester.phone", "Đầu số 074 chưa được cấp"),
]


def load(form: str, data: dict):
    if form == "birth":
        return BirthDeclarationSchema(today=BIRTH_DAY).load(data)
    # received at 14:00 Vietnam time on 23 November 2026
    now = datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)
    return DeathDeclarationSchema(now=now).load(data)


def flat(errors: dict, prefix: str = "") -> dict[str, list[str]]:
    out = {}
    for name, value in errors.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = value
    return out


@pytest.mark.parametrize("form, changes, field, words", INVALID, ids=[f"{r[0]}:{r[2]}:{r[3]}" for r in INVALID])
def test_an_impossible_declaration_is_refused_on_its_field(form, changes, field, words):
    data = (birth_declaration if form == "birth" else death_declaration)(**changes)
    with pytest.raises(ValidationError) as refused:
        load(form, data)
    errors = flat(refused.value.messages)
    assert list(errors) == [field], errors
    assert any(words in message for message in errors[field]), errors


def test_the_examples_themselves_are_plausible():
    load("birth", birth_declaration())
    load("death", death_declaration())


@pytest.mark.parametrize("written, loaded", [
    ("kinh", "Kinh"), ("Khmer", "Khơ-me"), ("gia rai", "Gia-rai"), ("H'Mông", "Mông"), ("Ê Đê", "Ê-đê"),
])
def test_an_ethnicity_loads_as_the_catalogue_names_it(written, loaded):
    data = birth_declaration(child__ethnicity=written)
    assert load("birth", data)["child"]["ethnicity"] == loaded


@pytest.mark.parametrize("written, loaded", [
    ("Việt Nam", "Việt Nam"), ("viet nam", "Việt Nam"), ("Vietnam", "Việt Nam"), ("VN", "Việt Nam"),
    ("Hàn Quốc", "Hàn Quốc"), ("Korea, Republic of", "Hàn Quốc"), ("Lào", "Lào"), ("Mỹ", "Hoa Kỳ"),
])
def test_a_nationality_loads_as_the_catalogue_names_it(written, loaded):
    assert load("birth", birth_declaration(mother__nationality=written))["mother"]["nationality"] == loaded


@pytest.mark.parametrize("name", ["H'Hen Niê", "Lê-Trần Minh Anh", "Nguyễn  Thị   Ánh", "Y Moan Ênuôl"])
def test_vietnamese_names_with_hyphens_apostrophes_and_marks_are_accepted(name):
    loaded = load("birth", birth_declaration(child__fullName=name))["child"]["fullName"]
    assert loaded == " ".join(name.split())


def test_a_time_of_death_earlier_today_is_accepted():
    load("death", death_declaration(death__diedAt="2026-11-23T05:30", death__noticeIssuedOn="2026-11-23",
                                    burial__date="2026-11-23"))


def test_the_catalogues_are_complete_data_files():
    ethnicities = catalogues._read("ethnicities.json")["ethnicities"]
    assert len(ethnicities) == 54 and len({e["name"] for e in ethnicities}) == 54
    assert len(catalogues._read("countries.json")["countries"]) >= 249
    assert catalogues.mobile_network("0912345678") == "VinaPhone"
    assert catalogues.mobile_network("0981234567") == "Viettel"
