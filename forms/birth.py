"""The citizen's one birth declaration (tờ khai liên thông khai sinh – thường trú – thẻ BHYT).

Keys are English (they become process variables); every error message is Vietnamese and
addressed to the citizen. Problems are keyed by field path, e.g. errors["mother"]["idNumber"],
so the portal can point at the field; engine.form_registry flattens them to "mother.idNumber".

The loaded result is plain JSON (dates stay ISO strings "YYYY-MM-DD"): it is stored as process
variables and in the audit log, whose JSON columns cannot hold `date` objects.

The fields and conventions shared with the death declaration (forms/death.py) and the extracted
declarations live in forms/common.py; they are imported here under their former names too.
"""
from __future__ import annotations

from datetime import date

from marshmallow import ValidationError, fields, validate, validates_schema

from engine.form_registry import form_schema

from . import catalogues, common
from .common import (  # noqa: F401  (re-exported: imported from forms.birth elsewhere)
    DELIVERY_CHOICES,
    SEX_CHOICES,
    CitizenForm,
    IsoDate,
    MobilePhone,
    OptionalEmail,
    OptionalText,
    Parts,
    Section,
    Text,
    add_months,
    normalise_mobile,
    section_of,
)
from .common import Form as _Form
from .common import year as _year
from .personal_id import PersonalIdField, check_personal_id

CHILD_AGE_LIMIT_MONTHS = 72  # the linked procedure (and the free BHYT card) is for children under 6
MAX_CHILDREN = 5  # one declaration for the children of one birth (twins, triplets...)
ALLOWED_PARTS = (  # the citizen files all three, or birth with exactly one of the others (canonical order)
    ("birth", "residence", "bhyt"),
    ("birth", "bhyt"),
    ("birth", "residence"),
)
PART_NAMES = {"birth": "khai sinh", "residence": "thường trú", "bhyt": "thẻ BHYT"}
PART_ORDER = ("birth", "residence", "bhyt")


# --- the sections of the declaration ----------------------------------------------------------

class RequesterSchema(_Form):
    fullName = common.PersonName("họ, chữ đệm và tên người đi đăng ký")
    idNumber = PersonalIdField(required=True)
    residence = Text("nơi cư trú")
    relationship = common.Relationship("quan hệ với người được khai sinh", "birth")
    phone = common.requester_phone()  # results are announced by SMS
    email = common.requester_email()  # CT01 asks for one; absent stays absent


class ChildSchema(_Form):
    fullName = common.PersonName("họ, chữ đệm và tên của trẻ")
    dateOfBirth = IsoDate("ngày, tháng, năm sinh của trẻ")
    sex = common.sex_choice("giới tính của trẻ")
    ethnicity = common.ethnicity()
    nationality = common.nationality()
    placeOfBirth = Text("nơi sinh")
    homeTown = Text("quê quán")


class ParentSchema(_Form):
    """Mother or father; `expected_sex` is what the 4th digit of their ID number must say."""

    fullName = common.PersonName("họ, chữ đệm và tên")
    birthYear = _year("năm sinh")
    ethnicity = common.ethnicity()
    nationality = common.nationality()
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


class BirthCertificateSchema(_Form):
    """The birth certificate (giấy chứng sinh) the facility that delivered the child issued; checked
    at receipt against the health sector (registers/health.py)."""

    number = Text("số giấy chứng sinh", validate=validate.Length(max=64, error="Số giấy chứng sinh dài tối đa 64 ký tự."))
    facilityCode = Text("mã cơ sở y tế cấp giấy chứng sinh",
                        validate=validate.Regexp(r"^\d{5}$", error="Mã cơ sở y tế cấp giấy chứng sinh gồm 5 chữ số, "
                                                 "ví dụ 87001 (in trên giấy chứng sinh)."))


# --- the declaration --------------------------------------------------------------------------

@form_schema("birth-declaration")
class BirthDeclarationSchema(CitizenForm):
    """Load with `BirthDeclarationSchema(today=date(...)).load(data)`; `today` defaults to Vietnam's date."""

    receivingAgency = Text("cơ quan tiếp nhận hồ sơ")
    requester = Section(RequesterSchema, "thông tin người đi đăng ký")
    # One child (`child`, as filed before twins were possible) or the children of one birth
    # (`children`, twins and more): exactly one of the two; children_of() reads either.
    child = Section(ChildSchema, "thông tin của trẻ", required=False)
    children = fields.List(
        fields.Nested(ChildSchema), required=False,
        validate=validate.Length(min=1, max=MAX_CHILDREN,
                                 error=f"Vui lòng khai từ 1 đến {MAX_CHILDREN} trẻ sinh ra trong cùng một lần sinh."),
        error_messages={key: "Phần thông tin các trẻ gửi lên không đúng dạng (một danh sách)."
                        for key in ("null", "invalid")},
        metadata={"description": f"Các trẻ sinh ra trong cùng một lần sinh (sinh đôi, sinh ba...), tối đa {MAX_CHILDREN}; "
                                 "thay cho `child`."})
    mother = Section(ParentSchema(expected_sex="female"), "thông tin của mẹ")
    father = Section(ParentSchema(expected_sex="male"), "thông tin của cha", required=False,
                    load_default=None, allow_none=True)  # may be unknown: a birth with no father recorded
    marriage = Section(MarriageSchema, "thông tin đăng ký kết hôn", required=False, load_default=None, allow_none=True)
    # Absent when there is none: a witness's statement or a commitment stands in for it (Luật Hộ tịch, art. 16).
    birthCertificate = Section(BirthCertificateSchema, "giấy chứng sinh", required=False, allow_none=True)
    parts = Parts(ALLOWED_PARTS, PART_NAMES)
    delivery = common.delivery()
    copies = common.copies()
    # Nơi đăng ký khám chữa bệnh ban đầu for the child's BHYT card; when absent the extraction
    # (forms/extraction.py) writes the commune health station of the permanent residence.
    clinic = OptionalText("nơi đăng ký khám chữa bệnh ban đầu")
    commitment = common.commitment()

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def dates_make_sense(self, data, original, **kwargs):
        # Runs even when other fields failed, so that every problem is reported in one answer;
        # hence each section is looked up defensively (a failed section may be absent or partial).
        today, errors = self.today, {}
        if "child" in data and "children" in data:
            errors["children"] = ["Vui lòng chỉ khai một trong hai: thông tin của trẻ (một trẻ) hoặc danh sách các trẻ."]
        elif not isinstance(original, dict) or ("child" not in original and "children" not in original):
            errors["child"] = ["Vui lòng khai thông tin của trẻ."]
        born = None
        for where, child in _children_with_paths(data):
            day = date.fromisoformat(child["dateOfBirth"]) if "dateOfBirth" in child else None
            if day and day > today:
                _put(errors, where, "dateOfBirth", "Ngày sinh của trẻ không được sau ngày hôm nay.")
            elif day and today >= add_months(day, CHILD_AGE_LIMIT_MONTHS):
                _put(errors, where, "dateOfBirth", "Thủ tục liên thông này chỉ dành cho trẻ dưới 6 tuổi (dưới 72 tháng tuổi).")
            elif day and born and abs((day - born).days) > 1:  # twins may be born either side of midnight
                _put(errors, where, "dateOfBirth", "Các trẻ khai chung một tờ khai phải sinh trong cùng một lần sinh "
                                                   "(cách nhau không quá 1 ngày); trẻ sinh lần khác khai tờ khai riêng.")
            born = born or day  # the parents' ages are judged at the first child's birth
        names = [child.get("fullName", "").casefold() for _, child in _children_with_paths(data)]
        for index, name in enumerate(names):
            if name and name in names[:index]:
                _put(errors, ("children", index), "fullName", "Hai trẻ trong cùng tờ khai không được trùng họ tên.")
        limits = catalogues.limits()
        issued = section_of(data, "marriage").get("issuedOn")
        issued = date.fromisoformat(issued) if issued else None
        for role, name, sex in (("mother", "mẹ", "female"), ("father", "cha", "male")):
            year = section_of(data, role).get("birthYear")
            if not isinstance(year, int):
                continue
            ages = limits["motherAgeAtBirth" if role == "mother" else "fatherAgeAtBirth"]
            if born and year >= born.year:
                errors.setdefault(role, {})["birthYear"] = [f"Năm sinh của {name} phải trước năm sinh của trẻ."]
                continue  # the marriage is not judged against a year already refused
            if born and not ages["min"] <= born.year - year <= ages["max"]:
                errors.setdefault(role, {})["birthYear"] = [
                    f"Theo năm sinh đã khai, {name} {born.year - year} tuổi khi sinh con; vui lòng kiểm tra lại "
                    f"(chỉ nhận từ {ages['min']} đến {ages['max']} tuổi)."]
                continue
            married_at = limits["marriageAge"][sex]
            if issued and issued.year < year + married_at:
                errors.setdefault("marriage", {}).setdefault("issuedOn", []).append(
                    f"Ngày cấp giấy chứng nhận kết hôn phải từ năm {name} đủ {married_at} tuổi "
                    f"(sinh năm {year}, tức từ năm {year + married_at}) trở đi.")
        if issued and issued > today:
            errors.setdefault("marriage", {})["issuedOn"] = ["Ngày cấp giấy chứng nhận kết hôn không được sau ngày hôm nay."]
        if errors:
            raise ValidationError(errors)


def children_of(declaration) -> list:
    """The children of a loaded birth declaration: `children`, or the one `child` filed before twins."""
    if isinstance(declaration.get("children"), list):
        return list(declaration["children"])
    return [declaration["child"]] if isinstance(declaration.get("child"), dict) else []


def _children_with_paths(data) -> list:
    """(error path, child) for each child that loaded, for validators that run despite field errors."""
    if isinstance(data.get("children"), list):
        return [(("children", index), child) for index, child in enumerate(data["children"]) if isinstance(child, dict)]
    child = section_of(data, "child")
    return [(("child",), child)] if child else []


def _put(errors: dict, where: tuple, field: str, message: str) -> None:
    node = errors
    for key in where:
        if isinstance(node.get(key), list):  # a message on the section itself stays, beside the field's
            node[key] = {"_schema": node[key]}
        node = node.setdefault(key, {})
    node.setdefault(field, []).append(message)
