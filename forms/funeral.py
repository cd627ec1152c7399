"""The funeral support request, form 04 of Decree 20/2021/NĐ-CP (tờ khai đề nghị hỗ trợ chi phí mai
táng), as extracted from the citizen's death declaration by forms/extraction.py: what the commune
(then the labour and social affairs office) receives and what is printed.

Same conventions as forms/common.py: English keys, Vietnamese messages, unknown keys refused,
dates as ISO strings. Every key is required.

    {"receivingAgency",
     "deceased": {fullName (IN CAPITALS, as the form asks), dateOfBirth, sex, ethnicity, residence, diedOn, cause},
     "burial": {date, place},
     "organiser": {fullName, dateOfBirth, idNumber, residence, relationship},
     "place", "declaredOn"}

`organiser` is who organised the burial (part II of the form). The form also has a case for an
agency or organisation that organised it; the linked procedure files for a family, so the
organiser here is always a person (the requester), and the organisation's lines print blank.
"""
from __future__ import annotations

from marshmallow import ValidationError, validates, validates_schema

from engine.form_registry import form_schema

from .common import Form, IsoDate, OfficialDeclaration, Problems, Section, Text, id_matches_person, iso_date, sex_choice
from .personal_id import PersonalIdField


class DeceasedSchema(Form):
    fullName = Text("họ và tên người chết")
    dateOfBirth = IsoDate("ngày, tháng, năm sinh của người chết")
    sex = sex_choice()
    ethnicity = Text("dân tộc")
    residence = Text("nơi cư trú của người chết")
    diedOn = IsoDate("ngày chết")
    cause = Text("nguyên nhân chết")

    @validates("fullName")
    def in_capitals(self, value, **kwargs):
        if value != value.upper():
            raise ValidationError(f"Họ và tên người chết phải viết chữ in hoa: {value.upper()}.")


class BurialSchema(Form):
    date = IsoDate("thời gian mai táng")
    place = Text("địa điểm mai táng")


class OrganiserSchema(Form):
    """The person who organised the burial (chủ hộ hoặc người đứng ra mai táng)."""

    fullName = Text("họ và tên người đứng ra mai táng")
    dateOfBirth = IsoDate("ngày, tháng, năm sinh của người đứng ra mai táng")
    idNumber = PersonalIdField(required=True)
    residence = Text("nơi cư trú của người đứng ra mai táng")
    relationship = Text("quan hệ với người chết")

    @validates_schema
    def id_matches_person(self, data, **kwargs):
        id_matches_person(data)


@form_schema("funeral-support")
class FuneralSupportSchema(OfficialDeclaration):
    receivingAgency = Text("cơ quan tiếp nhận")
    deceased = Section(DeceasedSchema, "thông tin người chết")
    burial = Section(BurialSchema, "thông tin mai táng")
    organiser = Section(OrganiserSchema, "thông tin người đứng ra mai táng")

    @validates_schema
    def dates_in_order(self, data, **kwargs):
        # born <= died <= buried <= declared: the support is asked once the burial took place.
        problems = Problems()
        deceased = data["deceased"]
        born, died = iso_date(deceased["dateOfBirth"]), iso_date(deceased["diedOn"])
        buried, declared = iso_date(data["burial"]["date"]), iso_date(data["declaredOn"])
        if died < born:
            problems.add("deceased.diedOn", "Ngày chết không được trước ngày sinh.")
        if buried < died:
            problems.add("burial.date", "Thời gian mai táng không được trước ngày chết.")
        elif buried > declared:
            problems.add("burial.date", "Thời gian mai táng không được sau ngày làm tờ khai.")
        problems.raise_any()
