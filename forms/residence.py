"""The residence declaration, form CT01 (tờ khai thay đổi thông tin cư trú), as extracted by
forms/extraction.py from the citizen's birth declaration (register the newborn's permanent
residence) or death declaration (delete the deceased's): what the commune police receive and
what is printed.

Same conventions as forms/common.py: English keys, Vietnamese messages, unknown keys refused,
dates as ISO strings. Every key is required; these may be null:
- `declarant.dateOfBirth`, `declarant.relationshipToHead`: the population register knows them only
  when the declarant lives in the household (printed as blanks to fill by hand otherwise); a death
  declaration's requester declares their own date of birth;
- `declarant.email`: the citizen gave none;
- `headOfHousehold`: the household is unknown (no register answer);
- a member's `idNumber` (the newborn has none until birth registration issues it; a person whose
  residence is deleted always has one) and `relationship` (when the register does not say it).

    {"receivingAgency",
     "declarant": {fullName, dateOfBirth, sex, idNumber, phone, email, relationshipToHead},
     "headOfHousehold": {fullName, idNumber} | null,
     "request": newborn_request(...) | DECEASED_REQUEST,
     "members": [{fullName, dateOfBirth, sex, idNumber, relationship}, ...], "place", "declaredOn"}

`members` are the household members the request changes (item 11 of CT01): the newborn, or the
deceased whose permanent residence is deleted.
"""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from engine.form_registry import form_schema

from .common import Form, IsoDate, MobilePhone, OfficialDeclaration, OptionalEmail, Section, Text, id_matches_person, sex_choice
from .personal_id import PersonalIdField

# The request (item 10, nội dung đề nghị) of each change this service files.
DECEASED_REQUEST = "Xóa đăng ký thường trú do người trong hộ đã chết"


def newborn_request(parents: str, address: str) -> str:
    """Register a newborn at its parents' permanent residence; `parents` is "cha, mẹ" or "mẹ"."""
    return f"Đăng ký thường trú cho trẻ mới sinh tại nơi thường trú của {parents}: {address}"


class DeclarantSchema(Form):
    fullName = Text("họ, chữ đệm và tên người kê khai")
    dateOfBirth = IsoDate("ngày, tháng, năm sinh của người kê khai", allow_none=True)
    sex = sex_choice()
    idNumber = PersonalIdField(required=True)
    phone = MobilePhone("số điện thoại liên hệ")
    email = OptionalEmail("email", required=True)
    relationshipToHead = Text("mối quan hệ với chủ hộ", allow_none=True)

    @validates_schema
    def id_matches_person(self, data, **kwargs):
        id_matches_person(data)


class HeadOfHouseholdSchema(Form):
    fullName = Text("họ, chữ đệm và tên chủ hộ")
    idNumber = PersonalIdField(required=True)


class MemberSchema(Form):
    """A household member whose residence changes with the request (the newborn, the deceased)."""

    fullName = Text("họ, chữ đệm và tên")
    dateOfBirth = IsoDate("ngày, tháng, năm sinh")
    sex = sex_choice()
    idNumber = PersonalIdField(required=True, allow_none=True)  # None: the newborn's is not issued yet
    relationship = Text("mối quan hệ với chủ hộ", allow_none=True)

    @validates_schema
    def id_matches_person(self, data, **kwargs):
        id_matches_person(data)


@form_schema("residence-declaration")
class ResidenceDeclarationSchema(OfficialDeclaration):
    receivingAgency = Text("cơ quan tiếp nhận")
    declarant = Section(DeclarantSchema, "thông tin người kê khai")
    headOfHousehold = Section(HeadOfHouseholdSchema, "thông tin chủ hộ", allow_none=True)
    request = Text("nội dung đề nghị")
    members = fields.List(
        fields.Nested(MemberSchema), required=True,
        validate=validate.Length(min=1, error="Vui lòng khai ít nhất một thành viên hộ gia đình cùng thay đổi."),
        error_messages={key: "Vui lòng khai những thành viên trong hộ gia đình cùng thay đổi."
                        for key in ("required", "null", "invalid")})

    @validates_schema
    def a_deleted_residence_names_the_person(self, data, **kwargs):
        # Only a newborn may lack an ID number: the police delete a residence by the person's number.
        if data["request"] != DECEASED_REQUEST:
            return
        missing = {index: {"idNumber": ["Vui lòng nhập số định danh cá nhân của người bị xóa đăng ký thường trú."]}
                   for index, member in enumerate(data["members"]) if member["idNumber"] is None}
        if missing:
            raise ValidationError({"members": missing})
