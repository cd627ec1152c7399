"""The birth registration declaration (tờ khai đăng ký khai sinh), as extracted from the citizen's
one declaration by forms/extraction.py: what the civil-status officer receives and what is printed.

Same conventions as forms/common.py: English keys, Vietnamese messages, unknown keys refused,
dates as ISO strings. Every key is required (the extraction writes them all); `father` and
`marriage` may be null (a birth with no father recorded, parents not married).

    {"receivingAgency", "requester": {fullName, idNumber, residence, relationship},
     "child": {fullName, dateOfBirth, dateOfBirthInWords, sex, ethnicity, nationality, placeOfBirth, homeTown},
     "mother": {fullName, birthYear, ethnicity, nationality, residence, idNumber}, "father": same | null,
     "marriage": {certificateNumber, issuedBy, issuedOn} | null, "copies", "place", "declaredOn"}
"""
from __future__ import annotations

from datetime import date

from marshmallow import ValidationError, validates_schema

from engine.form_registry import form_schema

from .birth import MarriageSchema, ParentSchema
from .common import CivilStatusDeclaration, Form, IsoDate, Section, Text, sex_choice
from .personal_id import PersonalIdField
from .printing import date_in_words


class RequesterSchema(Form):
    fullName = Text("họ, chữ đệm, tên người yêu cầu")
    idNumber = PersonalIdField(required=True)  # the ID document: the personal ID number (CCCD)
    residence = Text("nơi cư trú của người yêu cầu")
    relationship = Text("quan hệ với người được khai sinh")


class ChildSchema(Form):
    fullName = Text("họ, chữ đệm, tên người được khai sinh")
    dateOfBirth = IsoDate("ngày, tháng, năm sinh")
    dateOfBirthInWords = Text("ngày, tháng, năm sinh ghi bằng chữ")
    sex = sex_choice()
    ethnicity = Text("dân tộc")
    nationality = Text("quốc tịch")
    placeOfBirth = Text("nơi sinh")
    homeTown = Text("quê quán")

    @validates_schema
    def words_match_figures(self, data, **kwargs):
        expected = date_in_words(date.fromisoformat(data["dateOfBirth"]))
        if data["dateOfBirthInWords"] != expected:
            raise ValidationError(f"Ngày sinh ghi bằng chữ phải là: {expected}.", field_name="dateOfBirthInWords")


@form_schema("birth-registration")
class BirthRegistrationSchema(CivilStatusDeclaration):
    receivingAgency = Text("cơ quan đăng ký khai sinh")
    requester = Section(RequesterSchema, "thông tin người yêu cầu")
    child = Section(ChildSchema, "thông tin người được khai sinh")
    mother = Section(ParentSchema(expected_sex="female"), "thông tin của mẹ")
    father = Section(ParentSchema(expected_sex="male"), "thông tin của cha", allow_none=True)
    marriage = Section(MarriageSchema, "thông tin đăng ký kết hôn", allow_none=True)

    @validates_schema
    def born_before_declared(self, data, **kwargs):
        if data["child"]["dateOfBirth"] > data["declaredOn"]:  # ISO strings compare as dates
            raise ValidationError({"child": {"dateOfBirth": ["Ngày sinh không được sau ngày làm tờ khai."]}})
