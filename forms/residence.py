"""The residence declaration, form CT01 (tờ khai thay đổi thông tin cư trú), as extracted from the
citizen's birth declaration by forms/extraction.py: what the commune police receive and what is printed.

Same conventions as forms/birth.py: English keys, Vietnamese messages, unknown keys refused,
dates as ISO strings. Every key is required; these may be null:
- `declarant.dateOfBirth`, `declarant.relationshipToHead`: the population register knows them only
  when the declarant lives in the household (printed as blanks to fill by hand otherwise);
- `declarant.email`: the citizen gave none;
- `headOfHousehold`: the household is unknown (no register answer);
- a member's `idNumber` (the newborn has none until birth registration issues it) and
  `relationship` (when it cannot be derived from the parents' relationship to the head).

    {"receivingAgency",
     "declarant": {fullName, dateOfBirth, sex, idNumber, phone, email, relationshipToHead},
     "headOfHousehold": {fullName, idNumber} | null,
     "request": "Đăng ký thường trú cho trẻ mới sinh tại nơi thường trú của cha, mẹ: ...",
     "members": [{fullName, dateOfBirth, sex, idNumber, relationship}, ...], "place", "declaredOn"}
"""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from engine.forms import form_schema

from .birth import SEX_CHOICES, IsoDate, MobilePhone, OptionalEmail, Section, Text, _choice, _Form
from .identity import PersonalIdField, check_personal_id

_SEX = ("giới tính", SEX_CHOICES, "nam (male) hoặc nữ (female)")


def _id_matches(data: dict) -> None:
    """The ID number's sex and century+year digits agree with the person's (when both are known)."""
    if data.get("idNumber") is None:
        return
    year = int(data["dateOfBirth"][:4]) if data.get("dateOfBirth") else None
    problems = check_personal_id(data["idNumber"], sex=data["sex"], birth_year=year)
    if problems:
        raise ValidationError(problems, field_name="idNumber")


class DeclarantSchema(_Form):
    fullName = Text("họ, chữ đệm và tên người kê khai")
    dateOfBirth = IsoDate("ngày, tháng, năm sinh của người kê khai", allow_none=True)
    sex = _choice(*_SEX)
    idNumber = PersonalIdField(required=True)
    phone = MobilePhone("số điện thoại liên hệ")
    email = OptionalEmail("email", required=True)
    relationshipToHead = Text("mối quan hệ với chủ hộ", allow_none=True)

    @validates_schema
    def id_matches_person(self, data, **kwargs):
        _id_matches(data)


class HeadOfHouseholdSchema(_Form):
    fullName = Text("họ, chữ đệm và tên chủ hộ")
    idNumber = PersonalIdField(required=True)


class MemberSchema(_Form):
    """A household member whose residence changes with the request (the newborn)."""

    fullName = Text("họ, chữ đệm và tên")
    dateOfBirth = IsoDate("ngày, tháng, năm sinh")
    sex = _choice(*_SEX)
    idNumber = PersonalIdField(required=True, allow_none=True)  # None: the newborn's is not issued yet
    relationship = Text("mối quan hệ với chủ hộ", allow_none=True)

    @validates_schema
    def id_matches_person(self, data, **kwargs):
        _id_matches(data)


@form_schema("residence-declaration")
class ResidenceDeclarationSchema(_Form):
    receivingAgency = Text("cơ quan tiếp nhận")
    declarant = Section(DeclarantSchema, "thông tin người kê khai")
    headOfHousehold = Section(HeadOfHouseholdSchema, "thông tin chủ hộ", allow_none=True)
    request = Text("nội dung đề nghị")
    members = fields.List(
        fields.Nested(MemberSchema), required=True,
        validate=validate.Length(min=1, error="Vui lòng khai ít nhất một thành viên hộ gia đình cùng thay đổi."),
        error_messages={key: "Vui lòng khai những thành viên trong hộ gia đình cùng thay đổi."
                        for key in ("required", "null", "invalid")})
    place = Text("nơi làm tờ khai")
    declaredOn = IsoDate("ngày làm tờ khai")
