"""The health-insurance declaration, form TK1-TS (tờ khai tham gia, điều chỉnh thông tin bảo hiểm
xã hội, bảo hiểm y tế), for the free BHYT card of a child under 6, as extracted from the citizen's
birth declaration by forms/extraction.py: what Social Insurance (BHXH) receives and what is printed.

Same conventions as forms/common.py: English keys, Vietnamese messages, unknown keys refused,
dates as ISO strings. Every key is required; `idNumber` is null until birth registration issues
the child's personal ID number.

    {"fullName", "dateOfBirth", "sex", "nationality", "ethnicity", "birthRegistrationPlace",
     "resultAddress", "idNumber", "phone", "guardianName", "contributionLevel", "clinic",
     "declarantName", "place", "declaredOn"}
"""
from __future__ import annotations

from datetime import date

from marshmallow import ValidationError, fields, validate, validates_schema

from engine.form_registry import form_schema

from .birth import CHILD_AGE_LIMIT_MONTHS
from .common import IsoDate, MobilePhone, OfficialDeclaration, Text, add_months, sex_choice
from .personal_id import PersonalIdField, check_personal_id

# The card of a child under 6 is paid by the state budget (Law on Health Insurance, art. 12).
FREE_UNDER_SIX = "Ngân sách nhà nước đóng (trẻ em dưới 6 tuổi)"


@form_schema("bhyt-declaration")
class BhytDeclarationSchema(OfficialDeclaration):
    fullName = Text("họ và tên")
    dateOfBirth = IsoDate("ngày, tháng, năm sinh")
    sex = sex_choice()
    nationality = Text("quốc tịch")
    ethnicity = Text("dân tộc")
    birthRegistrationPlace = Text("nơi đăng ký khai sinh")
    resultAddress = Text("địa chỉ nhận kết quả")
    idNumber = PersonalIdField(required=True, allow_none=True)  # None until birth registration issues it
    phone = MobilePhone("số điện thoại liên hệ")
    guardianName = Text("họ tên cha, mẹ hoặc người giám hộ")
    contributionLevel = fields.String(required=True, validate=validate.OneOf(
        (FREE_UNDER_SIX,), error=f"Mức đóng của trẻ em dưới 6 tuổi phải là: {FREE_UNDER_SIX}."),
        error_messages={key: "Vui lòng ghi mức tiền đóng." for key in ("required", "null", "invalid")})
    clinic = Text("nơi đăng ký khám bệnh, chữa bệnh ban đầu")
    declarantName = Text("họ tên người kê khai")

    @validates_schema
    def a_child_under_six(self, data, **kwargs):
        born, declared = date.fromisoformat(data["dateOfBirth"]), date.fromisoformat(data["declaredOn"])
        if born > declared:
            raise ValidationError("Ngày sinh không được sau ngày làm tờ khai.", field_name="dateOfBirth")
        if declared >= add_months(born, CHILD_AGE_LIMIT_MONTHS):
            raise ValidationError("Thẻ BHYT miễn phí chỉ dành cho trẻ em dưới 6 tuổi (dưới 72 tháng tuổi).",
                                  field_name="dateOfBirth")
        if data["idNumber"] is not None:
            problems = check_personal_id(data["idNumber"], sex=data["sex"], birth_year=born.year)
            if problems:
                raise ValidationError(problems, field_name="idNumber")
