"""The citizen's one birth declaration (tờ khai liên thông khai sinh – thường trú – thẻ BHYT).

Keys are English (they become process variables); every error message is Vietnamese and
addressed to the citizen. Problems are keyed by field path, e.g. errors["mother"]["idNumber"],
so the portal can point at the field; engine.forms flattens them to "mother.idNumber".

The loaded result is plain JSON (dates stay ISO strings "YYYY-MM-DD"): it is stored as process
variables and in the audit log, whose JSON columns cannot hold `date` objects.
"""
from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from engine.forms import form_schema

from .identity import PersonalIdField, check_personal_id

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
CHILD_AGE_LIMIT_MONTHS = 72  # the linked procedure (and the free BHYT card) is for children under 6
ALLOWED_PARTS = (  # the citizen files all three, or birth with exactly one of the others
    frozenset({"birth", "residence", "bhyt"}),
    frozenset({"birth", "bhyt"}),
    frozenset({"birth", "residence"}),
)
PART_ORDER = ("birth", "residence", "bhyt")
DELIVERY_CHOICES = ("desk", "post", "electronic")
SEX_CHOICES = ("male", "female")


def today_in_vietnam() -> date:
    # The server may run in UTC; before 07:00 in Hanoi, UTC is still on yesterday's date.
    return datetime.now(VIETNAM).date()


def add_months(start: date, months: int) -> date:
    """The same day `months` later, or that month's last day (29 Feb + 12 months = 28 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


# --- fields with Vietnamese messages ----------------------------------------------------------

def _first_upper(label: str) -> str:
    return label[:1].upper() + label[1:]  # str.capitalize() would lower-case e.g. "BHYT"


class Text(fields.String):
    """Required text, trimmed; blank counts as missing (a form's empty box arrives as "" or "  ")."""

    def __init__(self, label: str, **kwargs):
        kwargs.setdefault("required", True)
        message = f"Vui lòng nhập {label}."
        super().__init__(error_messages={"required": message, "null": message,
                                         "invalid": f"{_first_upper(label)} phải là chữ."}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise self.make_error("required")
        return text


class IsoDate(fields.Date):
    """A date written YYYY-MM-DD; loads as that same ISO string (see the module docstring)."""

    def __init__(self, label: str, **kwargs):
        kwargs.setdefault("required", True)
        message = f"Vui lòng nhập {label}."
        super().__init__(error_messages={"required": message, "null": message,
                                         "invalid": f"{_first_upper(label)} không hợp lệ, hãy nhập theo dạng năm-tháng-ngày (ví dụ 2024-05-31)."},
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        return super()._deserialize(value, attr, data, **kwargs).isoformat()


class OptionalText(fields.String):
    """Optional text, trimmed; blank or null loads as None (absent stays absent)."""

    def __init__(self, label: str, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_none", True)
        super().__init__(error_messages={"invalid": f"{_first_upper(label)} phải là chữ."}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str | None:
        return super()._deserialize(value, attr, data, **kwargs).strip() or None


# A Vietnamese mobile number: 10 digits, 0 then the network's 3, 5, 7, 8 or 9 (since the 2018
# renumbering; 02x numbers are landlines). Citizens write it grouped and often internationally.
_MOBILE = re.compile(r"0[35789][0-9]{8}")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")


def normalise_mobile(text: str) -> str | None:
    """"+84 912.345.678", "84912345678", "0912-345-678" -> "0912345678"; None when not a mobile number."""
    number = _PHONE_SEPARATORS.sub("", text)
    for prefix in ("+84", "0084", "84"):
        if number.startswith(prefix) and len(number) - len(prefix) in (9, 10):
            national = number[len(prefix):]
            number = national if national.startswith("0") else "0" + national  # "+84 0912..." also seen
            break
    return number if _MOBILE.fullmatch(number) else None


class MobilePhone(fields.String):
    """A Vietnamese mobile number, loaded in the national form "0912345678" (for the SMS notices)."""

    def __init__(self, label: str, **kwargs):
        kwargs.setdefault("required", True)
        message = f"Vui lòng nhập {label}."
        super().__init__(error_messages={
            "required": message, "null": message,
            "invalid": f"{_first_upper(label)} không hợp lệ: hãy nhập số di động Việt Nam gồm 10 chữ số, "
                       f"ví dụ 0912345678 hoặc +84912345678."}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise self.make_error("required")
        number = normalise_mobile(text)
        if number is None:
            raise self.make_error("invalid")
        return number


class OptionalEmail(fields.Email):
    """An optional e-mail address, trimmed; blank or null loads as None."""

    def __init__(self, label: str, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_none", True)
        super().__init__(error_messages={
            "invalid": f"{_first_upper(label)} không hợp lệ, ví dụ nguyenvanan@gmail.com."}, **kwargs)

    def deserialize(self, value, attr=None, data=None, **kwargs) -> str | None:
        # Before the address validator runs: an empty box means "no e-mail", not a bad one.
        if isinstance(value, str):
            value = value.strip() or None
        return super().deserialize(value, attr, data, **kwargs)


def _choice(label: str, choices, explained: str) -> fields.String:
    message = f"Vui lòng chọn {label}."
    return fields.String(required=True, validate=validate.OneOf(choices, error=f"{_first_upper(label)} phải là {explained}."),
                         error_messages={"required": message, "null": message, "invalid": message})


class Section(fields.Nested):
    """A nested group of fields; a value that is not an object is reported on the group itself.

    (marshmallow would report it as errors[group]["_schema"], which names no field.)
    """

    def __init__(self, schema, label: str, **kwargs):
        message = f"Vui lòng khai {label}."
        kwargs.setdefault("required", True)
        super().__init__(schema, error_messages={"required": message, "null": message,
                                                 "type": f"Phần {label} gửi lên không đúng dạng."}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, Mapping):
            raise self.make_error("type")
        return super()._deserialize(value, attr, data, **kwargs)


def _year(label: str) -> fields.Integer:
    message = f"Vui lòng nhập {label}."
    # strict: 1984.5 or "1984" would otherwise be silently truncated/converted.
    return fields.Integer(required=True, strict=True, validate=validate.Range(
        min=1900, error=f"{_first_upper(label)} phải từ năm 1900 trở đi."),
        error_messages={"required": message, "null": message, "invalid": f"{_first_upper(label)} phải là một số, ví dụ 1990."})


class Parts(fields.List):
    """Which procedures the citizen files; loads in the canonical order birth, residence, bhyt."""

    def __init__(self, **kwargs):
        message = "Vui lòng chọn các thủ tục cần thực hiện."
        super().__init__(fields.String(error_messages={"invalid": "Tên thủ tục phải là chữ."}), required=True,
                         error_messages={"required": message, "null": message, "invalid": message}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        chosen = super()._deserialize(value, attr, data, **kwargs)
        if len(set(chosen)) != len(chosen) or frozenset(chosen) not in ALLOWED_PARTS:
            raise ValidationError("Chỉ được chọn một trong các nhóm thủ tục: khai sinh + thường trú + thẻ BHYT; "
                                  "khai sinh + thẻ BHYT; hoặc khai sinh + thường trú.")
        return [part for part in PART_ORDER if part in chosen]


# --- the sections of the declaration ----------------------------------------------------------

class _Form(Schema):
    class Meta:
        unknown = RAISE  # a misspelt key would otherwise be dropped silently

    error_messages: ClassVar[dict[str, str]] = {"unknown": "Tờ khai không có mục này.", "type": "Dữ liệu gửi lên không đúng dạng."}


class RequesterSchema(_Form):
    fullName = Text("họ, chữ đệm và tên người đi đăng ký")
    idNumber = PersonalIdField(required=True)
    residence = Text("nơi cư trú")
    relationship = Text("quan hệ với người được khai sinh")
    phone = MobilePhone("số điện thoại di động của người đi đăng ký")  # results are announced by SMS
    email = OptionalEmail("địa chỉ email của người đi đăng ký")  # CT01 asks for one; absent stays absent


class ChildSchema(_Form):
    fullName = Text("họ, chữ đệm và tên của trẻ")
    dateOfBirth = IsoDate("ngày, tháng, năm sinh của trẻ")
    sex = _choice("giới tính của trẻ", SEX_CHOICES, "nam (male) hoặc nữ (female)")
    ethnicity = Text("dân tộc")
    nationality = Text("quốc tịch")
    placeOfBirth = Text("nơi sinh")
    homeTown = Text("quê quán")


class ParentSchema(_Form):
    """Mother or father; `expected_sex` is what the 4th digit of their ID number must say."""

    fullName = Text("họ, chữ đệm và tên")
    birthYear = _year("năm sinh")
    ethnicity = Text("dân tộc")
    nationality = Text("quốc tịch")
    residence = Text("nơi cư trú")
    idNumber = PersonalIdField(required=True)

    def __init__(self, *, expected_sex: str, **kwargs):
        super().__init__(**kwargs)
        self.expected_sex = expected_sex

    @validates_schema
    def id_matches_person(self, data, **kwargs):
        # Runs only when every field loaded, so idNumber is well formed and birthYear an int.
        problems = check_personal_id(data["idNumber"], sex=self.expected_sex, birth_year=data["birthYear"])
        if problems:
            raise ValidationError(problems, field_name="idNumber")


class MarriageSchema(_Form):
    certificateNumber = Text("số giấy chứng nhận kết hôn")
    issuedBy = Text("nơi cấp giấy chứng nhận kết hôn")
    issuedOn = IsoDate("ngày cấp giấy chứng nhận kết hôn")


# --- the declaration --------------------------------------------------------------------------

@form_schema("birth-declaration")
class BirthDeclarationSchema(_Form):
    """Load with `BirthDeclarationSchema(today=date(...)).load(data)`; `today` defaults to Vietnam's date."""

    receivingAgency = Text("cơ quan tiếp nhận hồ sơ")
    requester = Section(RequesterSchema, "thông tin người đi đăng ký")
    child = Section(ChildSchema, "thông tin của trẻ")
    mother = Section(ParentSchema(expected_sex="female"), "thông tin của mẹ")
    father = Section(ParentSchema(expected_sex="male"), "thông tin của cha", required=False,
                    load_default=None, allow_none=True)  # may be unknown: a birth with no father recorded
    marriage = Section(MarriageSchema, "thông tin đăng ký kết hôn", required=False, load_default=None, allow_none=True)
    parts = Parts()
    delivery = _choice("hình thức nhận kết quả", DELIVERY_CHOICES,
                       "nhận tại bộ phận một cửa (desk), qua bưu chính (post) hoặc bản điện tử (electronic)")
    copies = fields.Integer(strict=True, load_default=1, validate=validate.Range(
        min=1, max=10, error="Số bản sao yêu cầu phải từ 1 đến 10."),
        error_messages={"invalid": "Số bản sao yêu cầu phải là một số từ 1 đến 10.",
                        "null": "Số bản sao yêu cầu phải là một số từ 1 đến 10."})
    # Nơi đăng ký khám chữa bệnh ban đầu for the child's BHYT card; when absent the extraction
    # (forms/extraction.py) writes the commune health station of the permanent residence.
    clinic = OptionalText("nơi đăng ký khám chữa bệnh ban đầu")
    commitment = fields.Boolean(required=True, validate=validate.Equal(
        True, error="Bạn phải cam kết thông tin khai là đúng sự thật."),
        error_messages={key: "Bạn phải cam kết thông tin khai là đúng sự thật." for key in ("required", "null", "invalid")})

    def __init__(self, *, today: date | None = None, **kwargs):
        super().__init__(**kwargs)
        self._today = today

    @property
    def today(self) -> date:
        # Looked up at each load, not at construction: a schema instance may outlive midnight.
        return self._today or today_in_vietnam()

    @validates_schema(skip_on_field_errors=False)
    def dates_make_sense(self, data, **kwargs):
        # Runs even when other fields failed, so that every problem is reported in one answer;
        # hence each section is looked up defensively (a failed section may be absent or partial).
        today, errors = self.today, {}
        child = _part(data, "child")
        born = date.fromisoformat(child["dateOfBirth"]) if "dateOfBirth" in child else None
        if born and born > today:
            errors.setdefault("child", {})["dateOfBirth"] = ["Ngày sinh của trẻ không được sau ngày hôm nay."]
        elif born and today >= add_months(born, CHILD_AGE_LIMIT_MONTHS):
            errors.setdefault("child", {})["dateOfBirth"] = [
                "Thủ tục liên thông này chỉ dành cho trẻ dưới 6 tuổi (dưới 72 tháng tuổi)."]
        for role, name in (("mother", "mẹ"), ("father", "cha")):
            year = _part(data, role).get("birthYear")
            if born and isinstance(year, int) and year >= born.year:
                errors.setdefault(role, {})["birthYear"] = [f"Năm sinh của {name} phải trước năm sinh của trẻ."]
        issued = _part(data, "marriage").get("issuedOn")
        if issued and date.fromisoformat(issued) > today:
            errors.setdefault("marriage", {})["issuedOn"] = ["Ngày cấp giấy chứng nhận kết hôn không được sau ngày hôm nay."]
        if errors:
            raise ValidationError(errors)


def _part(data: dict, key: str) -> Mapping:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}
